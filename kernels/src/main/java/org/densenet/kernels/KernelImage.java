package org.densenet.kernels;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The project's CUDA kernels as shipped on the classpath: one fatbin holding every entry point
 * (load it with cuModuleLoadData / cuModuleLoadFatBinary) and the manifest describing it.
 */
public final class KernelImage {
    public static final String FATBIN_RESOURCE = "/org/densenet/kernels/densenet.fatbin";
    public static final String MANIFEST_RESOURCE = "/org/densenet/kernels/manifest.properties";

    private KernelImage() {
    }

    /** The fatbin's bytes; a fresh copy on every call. */
    public static byte[] fatbin() {
        return read(FATBIN_RESOURCE);
    }

    public static KernelManifest manifest() {
        Properties p = new Properties();
        try (InputStream in = new ByteArrayInputStream(read(MANIFEST_RESOURCE))) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse " + MANIFEST_RESOURCE, e);
        }
        return KernelManifest.parse(p);
    }

    private static byte[] read(String resource) {
        try (InputStream in = KernelImage.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("CUDA kernel resource " + resource + " is missing from the classpath;"
                        + " run kernels/build-fatbin.sh (needs nvcc) and rebuild the kernels module");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read CUDA kernel resource " + resource, e);
        }
    }
}
