package org.densenet.engine.cuda;

import jcuda.driver.CUdeviceptr;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Storage;

/**
 * A block of GPU memory from the backend's caching allocator; closing it returns the block to the
 * cache. A float32 storage that convolutions read as weights in 16-bit training also holds a 16-bit
 * copy of every element ({@link #copy16()}), kept equal to the float32 values rounded once by every
 * op that writes them; it is freed with the storage.
 */
final class CudaStorage implements Storage {
    private final CudaBackend backend;
    private final DType dtype;
    private final long elements;
    private final DeviceAllocator.Block block;
    private boolean closed;
    private DeviceAllocator.Block copy16;
    private DType copy16Type;

    CudaStorage(CudaBackend backend, DType dtype, long elements, DeviceAllocator.Block block) {
        this.backend = backend;
        this.dtype = dtype;
        this.elements = elements;
        this.block = block;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long elements() {
        return elements;
    }

    /** Device address of element 0. */
    long address() {
        return block.address();
    }

    /** A JCuda pointer {@code byteOffset} bytes into the block, for the driver's copy and fill calls. */
    CUdeviceptr pointer(long byteOffset) {
        return ((CUdeviceptr) block.handle()).withByteOffset(byteOffset);
    }

    /** The 16-bit copy of this float32 storage's elements, or null when it has none. */
    DeviceAllocator.Block copy16() {
        return copy16;
    }

    /** BF16 or F16: the type of {@link #copy16()}; null when there is none. */
    DType copy16Type() {
        return copy16Type;
    }

    /** Attaches (or replaces) the 16-bit copy; the caller fills it. */
    void attachCopy16(DeviceAllocator.Block block, DType type) {
        if (copy16 != null) backend.release(copy16);
        copy16 = block;
        copy16Type = type;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (copy16 != null) backend.release(copy16);
        copy16 = null;
        backend.release(block);
    }
}
