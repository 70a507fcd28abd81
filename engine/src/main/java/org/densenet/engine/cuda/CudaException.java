package org.densenet.engine.cuda;

/**
 * A CUDA driver, cuDNN or cuBLAS call that returned an error. The message names the operation
 * being run, the library call and the library's own description of the status, e.g.
 * "conv forward x[64, 24, 32, 32]: cudnnConvolutionForward failed: CUDNN_STATUS_BAD_PARAM (2000): ...".
 */
public final class CudaException extends RuntimeException {
    private final int status;

    public CudaException(String op, String call, int status, String libraryMessage) {
        super(op + ": " + call + " failed: " + libraryMessage);
        this.status = status;
    }

    /** The raw status code the library returned. */
    public int status() {
        return status;
    }
}
