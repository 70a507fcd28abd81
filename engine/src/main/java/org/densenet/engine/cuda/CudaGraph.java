package org.densenet.engine.cuda;

import org.densenet.engine.CapturedGraph;
import org.densenet.engine.PendingLoss;

/**
 * A captured stream as an executable CUDA graph. It holds the device memory the capture used as
 * it was: its validity is that every allocation live at capture still is (checked again only
 * after the allocator gave a block back). The loss the captured work computed sits in a device
 * slot of the graph's own, copied back after each replay through the backend's read-back buffers.
 */
final class CudaGraph implements CapturedGraph {
    private final CudaContext ctx;
    private final DeviceAllocator allocator;
    private final LossReadback readback;
    private final String what;
    private final long graph;
    private final long exec;
    /** The graph's loss result slot (null: no loss captured) and the rows of its batch. */
    private final DeviceAllocator.Block lossSlot;
    private final int lossRows;
    private final Object[] memory;
    private long checkedAt;
    private boolean valid = true;
    private boolean closed;

    CudaGraph(CudaContext ctx, DeviceAllocator allocator, LossReadback readback, String what, long graph, long exec,
              DeviceAllocator.Block lossSlot, int lossRows) {
        this.ctx = ctx;
        this.allocator = allocator;
        this.readback = readback;
        this.what = what;
        this.graph = graph;
        this.exec = exec;
        this.lossSlot = lossSlot;
        this.lossRows = lossRows;
        this.memory = allocator.liveAllocations();
        this.checkedAt = allocator.givenBack();
    }

    @Override
    public PendingLoss replay() {
        if (closed) throw new IllegalStateException("the captured " + what + " was closed");
        if (!valid()) throw new IllegalStateException("the captured " + what + " uses device memory that was given back since; capture it again");
        ctx.bind();
        ctx.launchGraph(exec, what);
        return lossSlot == null ? null : readback.queuedFrom(lossSlot.address(), lossRows);
    }

    @Override
    public boolean valid() {
        if (valid && !closed) {
            long now = allocator.givenBack();
            if (now != checkedAt) {
                valid = allocator.allLive(memory);
                checkedAt = now;
            }
        }
        return valid && !closed;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        ctx.bind();
        try {
            ctx.destroyGraphExec(exec, what);
            ctx.destroyGraph(graph, what);
        } finally {
            // A replay still queued may write the slot: only work queued after it can reuse the block, as for any freed block.
            if (lossSlot != null) allocator.free(lossSlot);
        }
    }
}
