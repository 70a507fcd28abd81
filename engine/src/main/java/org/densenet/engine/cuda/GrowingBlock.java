package org.densenet.engine.cuda;

import java.util.function.Supplier;

/**
 * One device buffer that every call of some op reuses, grown to the largest request and never
 * shrunk: a cuDNN workspace, the kernels' scratch, the 8-bit image upload buffer, the linear
 * layer's vector of ones. Growing frees the old block before allocating the new one, so the two
 * never take memory at once: all work runs on one stream, so whatever still uses the old block
 * runs before its memory is handed out again.
 */
final class GrowingBlock implements AutoCloseable {
    private final DeviceAllocator allocator;
    private DeviceAllocator.Block block;

    GrowingBlock(DeviceAllocator allocator) {
        this.allocator = allocator;
    }

    /**
     * The block, holding at least {@code bytes} (>= 1); {@code what} names the buffer in an
     * out-of-memory message, and is only asked for when the buffer grows. When growing fails the
     * buffer is empty: its old block is already given back.
     */
    DeviceAllocator.Block atLeast(long bytes, Supplier<String> what) {
        if (block == null || block.bytes() < bytes) {
            close();
            block = allocator.allocate(bytes, what.get());
        }
        return block;
    }

    @Override
    public void close() {
        if (block != null) allocator.free(block);
        block = null;
    }
}
