package org.densenet.engine.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import jcuda.driver.CUevent;
import org.densenet.engine.LossResult;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.cuda.kernels.LossKernels;

/**
 * Where the loss kernel's results go and how they come back without draining the stream:
 * {@link #SLOTS} device result buffers used in turn, each copied after its kernel into page-locked
 * host memory by an asynchronous copy followed by an event. Reading a result waits for that event
 * only, that is for the step's forward pass and loss, not for the backward pass and update queued
 * after them. Before a slot is reused, the result it still holds is read into its {@link Pending}
 * (which then answers without the device), so a caller may keep results as long as it likes.
 */
final class LossReadback implements AutoCloseable {
    static final int SLOTS = 4;
    private static final String OP = "softmax cross-entropy";

    private final CudaContext ctx;
    private final DeviceAllocator allocator;
    private final DeviceAllocator.Block device;
    private final long host;
    /** The page-locked result slots, as the host reads them. */
    private final MemorySegment hostView;
    private final CUevent[] arrived = new CUevent[SLOTS];
    private final Pending[] holder = new Pending[SLOTS];
    private int next;

    LossReadback(CudaContext ctx, DeviceAllocator allocator) {
        this.ctx = ctx;
        this.allocator = allocator;
        this.device = allocator.allocate((long) SLOTS * LossKernels.RESULT_BYTES, "the loss result buffers");
        long h = 0;
        try {
            h = ctx.allocatePinned((long) SLOTS * LossKernels.RESULT_BYTES, "allocating the loss read-back buffer");
            for (int i = 0; i < SLOTS; i++) arrived[i] = ctx.newMarker();
        } catch (RuntimeException e) {
            for (CUevent ev : arrived) if (ev != null) ctx.destroyEvent(ev);
            if (h != 0) ctx.freePinned(h, "freeing the loss read-back buffer");
            allocator.free(device);
            throw e;
        }
        this.host = h;
        this.hostView = MemorySegment.ofAddress(h).reinterpret((long) SLOTS * LossKernels.RESULT_BYTES);
    }

    /** The device address the next loss kernel writes its result to; settles the slot's previous result first. */
    long nextSlot() {
        Pending old = holder[next];
        if (old != null) old.settle();
        return device.address() + (long) next * LossKernels.RESULT_BYTES;
    }

    /** After the loss kernel for {@link #nextSlot()} was queued: queues the copy back and returns the pending result of n rows. */
    PendingLoss queued(int n) {
        return queuedFrom(device.address() + (long) next * LossKernels.RESULT_BYTES, n);
    }

    /**
     * Queues the copy back of a result of n rows that queued work writes at device address
     * {@code src} (a captured graph's own slot, or one of ours), into the next host slot.
     */
    PendingLoss queuedFrom(long src, int n) {
        Pending old = holder[next];
        if (old != null) old.settle();
        int i = next;
        next = (next + 1) % SLOTS;
        long offset = (long) i * LossKernels.RESULT_BYTES;
        ctx.downloadAsync(src, host + offset, LossKernels.RESULT_BYTES, OP);
        ctx.record(arrived[i], OP);
        Pending p = new Pending(i, n);
        holder[i] = p;
        return p;
    }

    /** Settles every result still in a slot; then frees the buffers and events. */
    @Override
    public void close() {
        for (Pending p : holder) if (p != null) p.settle();
        for (CUevent e : arrived) ctx.destroyEvent(e);
        ctx.freePinned(host, "freeing the loss read-back buffer");
        allocator.free(device);
    }

    private final class Pending implements PendingLoss {
        private final int slot;
        private final int rows;
        private LossResult result;
        private RuntimeException failure;

        Pending(int slot, int rows) {
            this.slot = slot;
            this.rows = rows;
        }

        @Override
        public LossResult get() {
            if (result == null && failure == null) {
                ctx.bind();
                settle();
            }
            if (failure != null) throw failure;
            return result;
        }

        /** Waits for the slot's copy and decodes it; a bad label is kept to be thrown by {@link #get}. */
        void settle() {
            if (holder[slot] != this) return;
            ctx.waitFor(arrived[slot], OP);
            holder[slot] = null;
            double[] r = new double[LossKernels.RESULT_DOUBLES];
            MemorySegment.copy(hostView, ValueLayout.JAVA_DOUBLE, (long) slot * LossKernels.RESULT_BYTES, r, 0, r.length);
            try {
                result = LossKernels.decode(r, rows);
            } catch (IllegalArgumentException e) {
                failure = e;
            }
        }
    }
}
