package org.densenet.engine.cuda.kernels;

import java.util.HashMap;
import java.util.Map;

import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;
import org.densenet.kernels.KernelImage;

/**
 * A loaded CUDA module: entry points looked up once by name, every launch queued through
 * {@link KernelLauncher} on one stream. The {@link KernelModule}s of the backend and of the kernel
 * tests launch through it and add the scratch memory it does not own.
 */
public final class LoadedModule {
    /** cuModuleGetFunction writes the handle into this object; the launcher needs it as a number. */
    private static final class RawFunction extends CUfunction {
        long address() {
            return getNativePointer();
        }
    }

    private final CUmodule module;
    private final KernelLauncher launcher;
    private final long stream;
    private final Map<String, Long> functions = new HashMap<>();

    /** Kernels of {@code module}, launched on {@code stream} (a CUstream handle; 0: the legacy default stream). */
    public LoadedModule(CUmodule module, KernelLauncher launcher, long stream) {
        this.module = module;
        this.launcher = launcher;
        this.stream = stream;
    }

    /** The CUfunction handle of entry point {@code name}; throws naming the kernel when the module lacks it. */
    public long function(String name) {
        Long f = functions.get(name);
        if (f == null) {
            RawFunction raw = new RawFunction();
            CudaCheck.check(JCudaDriver.cuModuleGetFunction(raw, module, name), "kernel " + name,
                    "cuModuleGetFunction (is " + KernelImage.FATBIN_RESOURCE + " older than its launchers?)");
            f = raw.address();
            functions.put(name, f);
        }
        return f;
    }

    /** Queues {@code kernel}; a failure names the kernel, the geometry and the driver's message. */
    public void launch(String kernel, LaunchGeometry g, KernelArgs args) {
        int rc = launcher.launch(function(kernel), g, stream, args);
        if (rc != 0) CudaCheck.check(rc, "kernel " + kernel, "cuLaunchKernel(" + g + ")");
    }
}
