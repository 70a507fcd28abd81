package org.densenet.train.dist;

import java.util.List;

import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.GradientAllReduce;
import org.densenet.model.Parameters;
import org.densenet.train.DataParallel;

/**
 * One rank's collectives through NCCL on its CUDA backend: gradients averaged in DDP's buckets
 * ({@link GradientBuckets}), in backward's order, after backward has finished (not yet overlapped
 * with it: docs/DISTRIBUTED.md, "Overlap"); host values through a small device buffer.
 */
public final class NcclDataParallel implements DataParallel, AutoCloseable {
    private final GradientAllReduce reduce;
    private Parameters planned;
    private long[] offsets, counts;

    public NcclDataParallel(GradientAllReduce reduce) {
        this.reduce = reduce;
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
    public void averageGradients(Parameters p, long step) {
        if (planned != p) {
            List<GradientBuckets.Bucket> buckets = GradientBuckets.plan(p.list());
            offsets = new long[buckets.size()];
            counts = new long[buckets.size()];
            for (GradientBuckets.Bucket b : buckets) {
                offsets[b.index()] = b.offset();
                counts[b.index()] = b.count();
            }
            planned = p;
        }
        reduce.average(p.grads(), offsets, counts, "step " + step);
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
