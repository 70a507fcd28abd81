package org.densenet.engine.cuda;

/** The GPU has no room for an allocation even after the cache was emptied; the message says how much was asked and how much is free. */
public final class CudaOutOfMemoryException extends RuntimeException {
    public CudaOutOfMemoryException(String message) {
        super(message);
    }
}
