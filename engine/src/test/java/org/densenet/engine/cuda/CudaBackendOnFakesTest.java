package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.densenet.engine.cuda.ffm.FakeLibraries;
import org.junit.jupiter.api.Test;

/**
 * The whole CudaBackend (JCuda context, stream, allocator, transfers, fills, copies, cuDNN
 * convolutions, cuBLAS linear layer, timer, kernel-module errors) against stand-in libraries in
 * host memory, compared with the CPU backend. It runs in a child JVM ({@link FakeGpuSession}) so
 * that the stand-in libcuda.so.1 is never visible to the tests that expect no driver.
 */
class CudaBackendOnFakesTest {

    @Test
    void theBackendRunsOnStandInLibrariesAndMatchesTheCpu() throws Exception {
        Path cuda = FakeLibraries.build("cuda", "libcuda.so.1", "-Wl,-soname,libcuda.so.1");
        FakeLibraries.build("cudnn", "libfake_cudnn.so");
        FakeLibraries.build("cublas", "libfake_cublas.so");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                FakeGpuSession.class.getName(), cuda.getParent().toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the session did not finish:\n" + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("ok conv forward slice -> slice, weights at an offset, accumulate true"), out);
        assertTrue(out.strip().endsWith("ALL OK"), out);
        assertTrue(Files.exists(cuda));
    }
}
