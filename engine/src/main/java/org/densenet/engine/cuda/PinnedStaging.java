package org.densenet.engine.cuda;

import java.lang.foreign.MemorySegment;

import jcuda.driver.CUevent;

/**
 * Page-locked host buffers through which uploads are queued on the stream instead of waiting for
 * it. An upload copies the host array into the next buffer and queues the copy to the device behind
 * the work already there: stream order keeps it from overwriting memory a queued op still reads, so
 * the stream is not drained (a training step's images and labels used to drain it every step), and
 * the array may be reused as soon as the call returns. Buffers are used in turn; before a buffer is
 * written again, the host waits for the copy queued from it last time (an event recorded after
 * it), which with {@link #BUFFERS} buffers and two uploads per step is the copy of two steps ago.
 * A buffer grows to the largest upload it has carried.
 */
final class PinnedStaging implements AutoCloseable {
    static final int BUFFERS = 4;
    /** Buffers start at this size, so small uploads (labels, parameters of a tiny test) share one allocation each. */
    static final long MIN_BYTES = 64 * 1024;

    private final CudaContext ctx;
    private final long[] address = new long[BUFFERS];
    private final long[] capacity = new long[BUFFERS];
    private final CUevent[] copied = new CUevent[BUFFERS];
    private final boolean[] queued = new boolean[BUFFERS];
    private int next;

    PinnedStaging(CudaContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Queues {@code rows} rows of {@code rowBytes} from {@code src} (dense, row after row) to device
     * address {@code dst}, rows {@code dstPitch} bytes apart.
     */
    void upload(MemorySegment src, long dst, long dstPitch, long rowBytes, long rows, String op) {
        ctx.refuseWhileCapturing("an upload from the host (" + op + ")");
        long bytes = rowBytes * rows;
        if (src.byteSize() < bytes) throw new IllegalArgumentException(op + ": " + src.byteSize() + " bytes to upload, " + bytes + " expected");
        int i = next;
        next = (next + 1) % BUFFERS;
        if (queued[i]) {
            ctx.waitFor(copied[i], op);
            queued[i] = false;
        }
        if (capacity[i] < bytes) {
            if (address[i] != 0) {
                ctx.freePinned(address[i], op);
                address[i] = 0;
                capacity[i] = 0;
            }
            long size = Math.max(MIN_BYTES, bytes);
            address[i] = ctx.allocatePinned(size, op);
            capacity[i] = size;
        }
        if (copied[i] == null) copied[i] = ctx.newMarker();
        MemorySegment.copy(src, 0, MemorySegment.ofAddress(address[i]).reinterpret(bytes), 0, bytes);
        for (long r = 0; r < rows; r++) ctx.uploadAsync(address[i] + r * rowBytes, dst + r * dstPitch, rowBytes, op);
        ctx.record(copied[i], op);
        queued[i] = true;
    }

    /** Waits for the queued copies, then frees the buffers and events. */
    @Override
    public void close() {
        for (int i = 0; i < BUFFERS; i++) {
            if (queued[i]) ctx.waitFor(copied[i], "closing the upload buffers");
            queued[i] = false;
            if (address[i] != 0) ctx.freePinned(address[i], "closing the upload buffers");
            address[i] = 0;
            capacity[i] = 0;
            if (copied[i] != null) ctx.destroyEvent(copied[i]);
            copied[i] = null;
        }
    }
}
