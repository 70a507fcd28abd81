package org.densenet.engine.cuda.kernels;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import org.densenet.engine.cuda.CudaException;

/**
 * Checks a result code of a JCuda driver API call; an error names the op, the call and carries the
 * driver's own message, e.g. "kernel bn_apply_f32: cuLaunchKernel(...) failed: CUDA_ERROR_INVALID_VALUE (invalid argument)".
 */
public final class CudaCheck {
    private CudaCheck() {
    }

    public static void check(int result, String op, String call) {
        if (result != CUresult.CUDA_SUCCESS) throw new CudaException(op, call, result, describe(result));
    }

    /** The symbolic name of a driver result code and, when the driver can be asked, its description. */
    public static String describe(int result) {
        String name = CUresult.stringFor(result);
        String[] text = new String[1];
        try {
            if (JCudaDriver.cuGetErrorString(result, text) == CUresult.CUDA_SUCCESS && text[0] != null) return name + " (" + text[0] + ")";
        } catch (LinkageError | jcuda.CudaException e) {
            // the driver library cannot be loaded here: the symbolic name is all there is to say
        }
        return name;
    }
}
