package org.densenet.engine.cuda;

/**
 * The CUDA backend cannot be used on this machine: no driver, no device, or a library missing.
 * The message is one line saying what is missing and where it was looked for.
 */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String reason) {
        super(reason);
    }
}
