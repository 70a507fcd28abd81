package org.densenet.engine.cuda;

/** Raw device memory of one context, for a {@link DeviceAllocator}: cuMemAlloc, cuMemFree, cuMemGetInfo. */
final class ContextMemory implements DeviceAllocator.RawMemory {
    private final CudaContext ctx;

    ContextMemory(CudaContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public DeviceAllocator.Block allocate(long bytes) {
        return ctx.allocate(bytes);
    }

    @Override
    public void free(DeviceAllocator.Block block) {
        ctx.free(block);
    }

    @Override
    public long[] deviceMemory() {
        return ctx.memoryInfo();
    }

    @Override
    public void synchronize() {
        ctx.synchronize("returning cached GPU memory");
    }
}
