package org.densenet.engine.cuda;

/**
 * What the cuDNN and cuBLAS wrappers need of the device besides the libraries: the stream they
 * queue on, how much memory is free, and a fill. {@link CudaContext} is the real one; tests run
 * the wrappers against stand-in libraries over host memory with their own.
 */
interface DeviceQueue {
    /** The CUstream handle as a number, for cudnnSetStream and cublasSetStream. */
    long streamAddress();

    /** Free bytes on the device now. */
    long freeBytes();

    /** Sets {@code count} 32-bit words at the start of {@code block} to {@code bits}, on the stream. */
    void fill32(DeviceAllocator.Block block, long count, int bits, String op);

    /**
     * Throws {@link org.densenet.engine.GraphCaptureException} naming {@code what} when the stream is
     * being captured: for work a capture cannot hold (an algorithm search, a synchronous call).
     */
    default void refuseWhileCapturing(String what) {
    }
}
