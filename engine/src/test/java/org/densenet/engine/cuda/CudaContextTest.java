package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** What can be checked of the JCuda side without a driver: JCuda's own load failure reduced to its one useful line. */
class CudaContextTest {

    @Test
    void jcudasManyLineLoadErrorBecomesTheLineThatNamesTheCause() {
        String jcuda = """
                Error while loading native library "JCudaDriver-12.6.0-linux-x86_64"
                Operating system name: Linux
                Architecture         : amd64
                Architecture bit size: 64
                ---(start of nested stack traces)---
                Stack trace from the attempt to load the library as a file:
                java.lang.UnsatisfiedLinkError: no JCudaDriver-12.6.0-linux-x86_64 in java.library.path: /usr/java/packages/lib:/usr/lib64
                \tat java.base/java.lang.ClassLoader.loadLibrary(ClassLoader.java:2285)
                Stack trace from the attempt to load the library as a resource:
                java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file or directory
                \tat java.base/jdk.internal.loader.NativeLibraries.load(Native Method)
                ---(end of nested stack traces)---
                """;
        assertEquals("/tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file or directory",
                CudaContext.reason(jcuda));
        assertEquals("plain message", CudaContext.reason("plain message\nsecond line"));
        assertTrue(CudaContext.reason(null).contains("no message"));
    }
}
