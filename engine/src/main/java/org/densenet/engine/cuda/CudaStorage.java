package org.densenet.engine.cuda;

import jcuda.driver.CUdeviceptr;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Storage;

/** A block of GPU memory from the backend's caching allocator; closing it returns the block to the cache. */
final class CudaStorage implements Storage {
    private final CudaBackend backend;
    private final DType dtype;
    private final long elements;
    private final DeviceAllocator.Block block;
    private boolean closed;

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

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        backend.release(block);
    }
}
