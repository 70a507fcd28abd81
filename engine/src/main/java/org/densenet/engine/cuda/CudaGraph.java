package org.densenet.engine.cuda;

import java.util.List;

import org.densenet.engine.CapturedGraph;
import org.densenet.engine.GraphCaptureException;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.cuda.kernels.CudaCheck;
import org.densenet.engine.cuda.kernels.LossKernels;

/**
 * A captured stream as an executable CUDA graph. It holds the device memory the capture used as
 * it was: its validity is that every allocation live at capture still is (checked again only
 * after the allocator gave a block back). The loss the captured work computed sits in a device
 * slot of the graph's own, copied back after each replay through the backend's read-back buffers.
 * A graph that holds collectives (data-parallel gradient averages) replays through their
 * {@link ReplayWatch}, which waits for it under the NCCL watchdog.
 */
final class CudaGraph implements CapturedGraph {
    /** What the capture messages call the captured work. */
    private static final String CAPTURED = "graph";
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
    /** The watches of the collectives the graph holds: each replay runs under them (empty: a plain launch). */
    private final List<ReplayWatch> watches;
    private long checkedAt;
    private boolean valid = true;
    private boolean closed;

    private CudaGraph(CudaContext ctx, DeviceAllocator allocator, LossReadback readback, String what, long graph, long exec,
              DeviceAllocator.Block lossSlot, int lossRows, List<ReplayWatch> watches) {
        this.ctx = ctx;
        this.allocator = allocator;
        this.readback = readback;
        this.what = what;
        this.graph = graph;
        this.exec = exec;
        this.lossSlot = lossSlot;
        this.lossRows = lossRows;
        this.watches = watches;
        this.memory = allocator.liveAllocations();
        this.checkedAt = allocator.givenBack();
    }

    /**
     * Captures what {@code work} queues on the context's stream. Ops that a capture cannot hold
     * refuse with the reason (an upload from the host, an algorithm search, an allocation, a
     * synchronisation, dropout's seed by value), and so does the driver, which invalidates the capture when
     * a call it forbids was made anyway; any failure ends the capture, frees what it took and
     * throws {@link GraphCaptureException}, with nothing of the work run.
     */
    static CudaGraph capture(CudaContext ctx, DeviceAllocator allocator, KernelOps kernels, Runnable work) {
        DeviceAllocator.Block lossSlot = allocator.allocate(LossKernels.RESULT_BYTES, "a captured graph's loss result");
        int[] code = new int[1];
        long graph = 0;
        int lossRows;
        String freed;
        List<ReplayWatch> watches;
        RuntimeException failure = null;
        ctx.beginCapture(CAPTURED);
        allocator.beginCapture(CAPTURED);
        kernels.beginCapture(lossSlot);
        try {
            work.run();
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            lossRows = kernels.endCapture();
            freed = allocator.endCapture();
            try {
                graph = ctx.endCapture(code);
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
            watches = ctx.takeReplayWatches();
        }
        if (failure == null && graph == 0) failure = new GraphCaptureException("the driver invalidated the capture: " + CudaCheck.describe(code[0]));
        if (failure == null && freed != null) {
            failure = new GraphCaptureException("device memory (" + freed + ") was given back during the capture, and replays would still use it");
        }
        long exec = 0;
        if (failure == null) {
            try {
                exec = ctx.instantiateGraph(graph, CAPTURED);
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        if (failure != null) {
            if (graph != 0) ctx.destroyGraph(graph, CAPTURED);
            allocator.free(lossSlot);
            throw failure instanceof GraphCaptureException g ? g : new GraphCaptureException(failure.getMessage(), failure);
        }
        if (lossRows == 0) {
            allocator.free(lossSlot);
            lossSlot = null;
        }
        return new CudaGraph(ctx, allocator, kernels.lossReadback(), CAPTURED, graph, exec, lossSlot, lossRows, watches);
    }

    @Override
    public PendingLoss replay() {
        if (closed) throw new IllegalStateException("the captured " + what + " was closed");
        if (!valid()) throw new IllegalStateException("the captured " + what + " uses device memory that was given back since; capture it again");
        ctx.bind();
        Runnable launch = () -> ctx.launchGraph(exec, what);
        for (ReplayWatch w : watches) {
            Runnable inner = launch;
            launch = () -> w.replay(what, inner);
        }
        launch.run();
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
