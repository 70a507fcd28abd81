package org.densenet.engine;

/**
 * A block of memory owned by one backend: a Java array on the CPU, a device allocation on a GPU.
 * Tensors are views into a storage (offset + strides). Closing a storage returns its bytes to
 * the backend's allocator; using a tensor of a closed storage is an error.
 */
public interface Storage extends AutoCloseable {
    Backend backend();

    DType dtype();

    /** Capacity in elements. */
    long elements();

    default long bytes() {
        return elements() * dtype().bytes();
    }

    boolean isClosed();

    @Override
    void close();
}
