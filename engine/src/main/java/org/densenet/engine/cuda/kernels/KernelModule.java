package org.densenet.engine.cuda.kernels;

/**
 * Where the launchers start kernels and find scratch memory: the CUDA backend's kernel ops (through
 * a {@link LoadedModule}) on a GPU; tests replace it to record launches on machines without one.
 */
public interface KernelModule {

    /** Starts {@code kernel} with geometry {@code g}; a failure names the kernel, the geometry and the driver's message. */
    void launch(String kernel, LaunchGeometry g, KernelArgs args);

    /**
     * Device memory of at least {@code bytes} (256-byte aligned) for the intermediate results of
     * one launcher's kernels, such as a chunked reduction's partial sums. It stays valid until the
     * next call: launches run in order on one stream, so what the next op writes there comes after
     * every kernel that read the previous contents.
     */
    long scratch(long bytes);
}
