package org.densenet.engine.cuda.kernels;

/**
 * Where the launchers start kernels: {@link LoadedModule} on a GPU; tests replace it to record
 * launches on machines without one.
 */
public interface KernelModule {

    /** Starts {@code kernel} with geometry {@code g}; a failure names the kernel, the geometry and the driver's message. */
    void launch(String kernel, LaunchGeometry g, KernelArgs args);
}
