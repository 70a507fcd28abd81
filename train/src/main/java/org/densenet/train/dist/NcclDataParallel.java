package org.densenet.train.dist;

import java.util.List;

import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.GradientAllReduce;
import org.densenet.model.Parameters;
import org.densenet.train.DataParallel;

/**
 * One rank's collectives through NCCL on its CUDA backend: gradients averaged in DDP's buckets
 * ({@link GradientBuckets}), in backward's order; with {@code overlap}, each bucket's all-reduce
 * starts on a second stream as soon as backward has queued its last gradient, else all of them after
 * backward (docs/DISTRIBUTED.md, "Overlap"); host values through a small device buffer.
 */
public final class NcclDataParallel implements DataParallel, AutoCloseable {
    private final GradientAllReduce reduce;
    private final boolean overlap;
    private final long firstBucketBytes, bucketBytes;
    private Parameters planned;
    private long[] offsets, counts;
    /** Buckets of the current step whose all-reduce has started (overlap only). */
    private int started;
    /** The offset backward last reported: a report not below it starts another backward. */
    private long lastFrom = Long.MAX_VALUE;

    /** Buckets of {@code firstBucketBytes}, then {@code bucketBytes} ({@link GradientBuckets#plan}). */
    public NcclDataParallel(GradientAllReduce reduce, boolean overlap, long firstBucketBytes, long bucketBytes) {
        this.reduce = reduce;
        this.overlap = overlap;
        this.firstBucketBytes = firstBucketBytes;
        this.bucketBytes = bucketBytes;
    }

    @Override
    public int rank() {
        return reduce.comm().rank();
    }

    @Override
    public int size() {
        return reduce.comm().size();
    }

    @Override
    public void broadcast(Tensor t, String what) {
        reduce.broadcast(t, 0, what);
    }

    @Override
    public void gradientsReady(Parameters p, long from, long step) {
        if (!overlap) return;
        if (from == 0) reduce.backwardQueued();
        plan(p);
        // A backward's offsets fall; one that does not starts another, maybe the same step run again after a capture
        // failed partway, whose counts must start over.
        if (from >= lastFrom) started = 0;
        lastFrom = from;
        // buckets run in backward's order, their offsets falling: the next one is ready once backward has passed its start
        while (started < offsets.length && offsets[started] >= from) start(p, step);
    }

    @Override
    public void averageGradients(Parameters p, long step) {
        plan(p);
        if (!overlap) {
            reduce.average(p.grads(), offsets, counts, "step " + step);
            return;
        }
        while (started < offsets.length) start(p, step);
        started = 0;
        reduce.finishAverages("all-reduce of " + offsets.length + (offsets.length == 1 ? " bucket" : " buckets") + " of step " + step);
    }

    private void start(Parameters p, long step) {
        reduce.startAverage(p.grads(), offsets[started], counts[started], "all-reduce of bucket " + started + " of step " + step);
        started++;
    }

    private void plan(Parameters p) {
        if (planned == p) return;
        List<GradientBuckets.Bucket> buckets = GradientBuckets.plan(p.list(), Float.BYTES, firstBucketBytes, bucketBytes);
        offsets = new long[buckets.size()];
        counts = new long[buckets.size()];
        for (GradientBuckets.Bucket b : buckets) {
            offsets[b.index()] = b.offset();
            counts[b.index()] = b.count();
        }
        planned = p;
        started = 0;
    }

    @Override
    public void synchronizeBatchNorm(boolean on) {
        reduce.synchronizeBatchNorm(on);
    }

    @Override
    public boolean anyStop(boolean here, long step) {
        return reduce.max(here ? 1 : 0, "the stop flag after step " + step) != 0;
    }

    @Override
    public double[] sum(double[] values, String what) {
        return reduce.sum(values, what);
    }

    /** Ends this rank's collectives from another thread, saying why. */
    public void abort(String why) {
        reduce.abort(why);
    }

    @Override
    public void close() {
        reduce.close();
    }
}
