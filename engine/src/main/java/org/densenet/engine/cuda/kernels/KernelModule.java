package org.densenet.engine.cuda.kernels;

import jcuda.driver.CUfunction;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.densenet.engine.cuda.CudaException;

/**
 * The loaded kernel image (org.densenet.kernels.KernelImage's fatbin) as the launchers see it:
 * a function by its exported name and the stream launches go to. The CUDA runtime implements the
 * first two methods; {@link #launch} is the one place a kernel is started, and tests replace it to
 * record launches on machines without a GPU.
 */
public interface KernelModule {

    /** The entry point {@code name} of the loaded module; throws naming the kernel when it is absent. */
    CUfunction function(String name);

    /** The stream every launch is queued on (null: the legacy default stream). */
    CUstream stream();

    /** Starts {@code kernel} with geometry {@code g}; a failure names the kernel, the geometry and the driver's message. */
    default void launch(String kernel, LaunchGeometry g, KernelArgs args) {
        CUfunction f = function(kernel);
        String op = "kernel " + kernel;
        String call = "cuLaunchKernel(" + g + ")";
        int rc;
        try {
            rc = JCudaDriver.cuLaunchKernel(f, g.gridX(), g.gridY(), g.gridZ(), g.blockX(), g.blockY(), g.blockZ(),
                    g.sharedBytes(), stream(), args.pointer(), null);
        } catch (jcuda.CudaException e) {
            // JCuda throws instead of returning when its exceptions are enabled; keep one error type
            throw new CudaException(op, call, CUresult.CUDA_ERROR_UNKNOWN, e.getMessage());
        }
        CudaCheck.check(rc, op, call);
    }
}
