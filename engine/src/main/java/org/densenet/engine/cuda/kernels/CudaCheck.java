package org.densenet.engine.cuda.kernels;

import jcuda.CudaException;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/** Checks a CUDA driver API result code; an error names the call and carries the driver's own message. */
public final class CudaCheck {
    private CudaCheck() {
    }

    public static void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) throw new CudaException(call + " failed: " + describe(result));
    }

    /** e.g. "CUDA_ERROR_INVALID_VALUE (invalid argument)". */
    public static String describe(int result) {
        String name = CUresult.stringFor(result);
        String[] text = new String[1];
        try {
            if (JCudaDriver.cuGetErrorString(result, text) == CUresult.CUDA_SUCCESS && text[0] != null) return name + " (" + text[0] + ")";
        } catch (LinkageError | CudaException e) {
            // the driver library is not loadable here: the symbolic name is all there is to say
        }
        return name;
    }
}
