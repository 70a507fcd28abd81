package org.densenet.engine.cuda;

import java.util.ArrayList;
import java.util.List;

import jcuda.driver.CUevent;

/**
 * Times a step's overlapped gradient all-reduces with CUDA events: one pair around each bucket's
 * all-reduce on the collectives' stream (the first recorded once the stream has passed its wait for
 * the gradients, so it marks when the all-reduce really started), a reference on the backend's stream
 * where the first bucket was started, and the end of backward there. Reading them waits for backward's
 * end, which the step's update waits for anyway. On the emulated device events hold the host's clock
 * when recorded, so the figures are the host's, not a GPU's.
 */
final class AllReduceTimer implements AutoCloseable {
    private final CudaContext ctx;
    private final List<CUevent> starts = new ArrayList<>(), ends = new ArrayList<>();
    private final CUevent reference, backwardEnd;
    private int buckets;
    private boolean referenced, ended;

    AllReduceTimer(CudaContext ctx) {
        this.ctx = ctx;
        this.reference = ctx.newEvent();
        this.backwardEnd = ctx.newEvent();
    }

    /** A bucket's all-reduce is queued next on {@code side}, behind its wait for the gradients. */
    void bucketStart(SideStream side) {
        reference();
        side.record(event(starts), "timing the all-reduces");
    }

    /** Backward's last op has been queued on the backend's stream (once a step; later calls are ignored). */
    void backwardEnd() {
        if (ended) return;
        reference();
        ctx.record(backwardEnd, "timing the all-reduces");
        ended = true;
    }

    /** The step's first mark on the backend's stream: every other event of the step comes after it. */
    private void reference() {
        if (referenced) return;
        ctx.record(reference, "timing the all-reduces");
        referenced = true;
    }

    /** The bucket's all-reduce has been queued. */
    void bucketEnd(SideStream side) {
        side.record(event(ends), "timing the all-reduces");
        buckets++;
    }

    /** Reads this step's times (backward ends here at the latest) and starts the next step. */
    GradientAllReduce.Timed finish() {
        backwardEnd();
        referenced = false;
        ended = false;
        if (buckets == 0) return new GradientAllReduce.Timed(0, 0, 0);
        double end = ctx.elapsedMillis(reference, backwardEnd), total = 0, overlapped = 0;
        for (int i = 0; i < buckets; i++) {
            double s = ctx.elapsedMillis(reference, starts.get(i)), e = ctx.elapsedMillis(reference, ends.get(i));
            total += e - s;
            overlapped += Math.max(0, Math.min(e, end) - s);
        }
        GradientAllReduce.Timed t = new GradientAllReduce.Timed(total, overlapped, buckets);
        buckets = 0;
        return t;
    }

    /** This step's event of the current bucket in {@code pool}, made on first use. */
    private CUevent event(List<CUevent> pool) {
        while (pool.size() <= buckets) pool.add(ctx.newEvent());
        return pool.get(buckets);
    }

    @Override
    public void close() {
        for (CUevent e : starts) ctx.destroyEvent(e);
        for (CUevent e : ends) ctx.destroyEvent(e);
        ctx.destroyEvent(reference);
        ctx.destroyEvent(backwardEnd);
    }
}
