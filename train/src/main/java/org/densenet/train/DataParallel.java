package org.densenet.train;

import org.densenet.engine.Tensor;
import org.densenet.model.Parameters;
import org.densenet.train.data.DistributedSampler;

/**
 * A training run's place among data-parallel ranks, and the collectives the training loop needs
 * from them (docs/DISTRIBUTED.md, "The step"). Every rank runs the same loop on its own device;
 * {@link #SINGLE}, the one-device run, has nothing to exchange. The abstract methods are collectives:
 * every rank makes the same calls in the same order, or the others wait until the NCCL timeout ends them.
 */
public interface DataParallel {
    /** This rank, 0 to {@link #size()} - 1; rank 0 writes the run folder and the checkpoints. */
    int rank();

    /** Ranks in all (the NCCL world). */
    int size();

    /** Every rank's {@code t} becomes rank 0's ({@code what} names it in errors). */
    void broadcast(Tensor t, String what);

    /**
     * Backward of {@code step} has queued the last op of every gradient from flat offset {@code from} on
     * ({@link org.densenet.model.DenseNet#backward(Tensor, java.util.function.LongConsumer)}): buckets it
     * completes may start their all-reduce now, overlapping the rest of backward.
     */
    default void gradientsReady(Parameters p, long from, long step) {
    }

    /** The flat gradient buffer becomes its average over the ranks, queued after backward, before the update. */
    void averageGradients(Parameters p, long step);

    /** Whether any rank asks to stop after {@code step}: every rank gets the same answer for the same step. */
    boolean anyStop(boolean here, long step);

    /** Host values summed over the ranks, the same doubles on every rank. */
    double[] sum(double[] values, String what);

    /**
     * Training-mode batch norm over every rank's batch (SyncBatchNorm, --sync-bn) when {@code on}, or over
     * each rank's own (DDP's default). Only ranks that can exchange per-channel sums on their device support it.
     */
    default void synchronizeBatchNorm(boolean on) {
        if (on) throw new IllegalArgumentException("--sync-bn synchronises batch norm across data-parallel GPUs: it needs --gpus (or a launcher)");
    }

    /** This rank's samples of an epoch whose single-process order is {@code order} (PyTorch's DistributedSampler). */
    default int[] shard(int[] order) {
        return size() == 1 ? order : new DistributedSampler(order.length, size(), rank(), false).shardOf(order);
    }

    /** This rank's part of an evaluation set of {@code n} images, every image on one rank only. */
    default int[] evalShard(int n) {
        return DistributedSampler.evalShard(n, size(), rank());
    }

    DataParallel SINGLE = new DataParallel() {
        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int size() {
            return 1;
        }

        @Override
        public void broadcast(Tensor t, String what) {
        }

        @Override
        public void averageGradients(Parameters p, long step) {
        }

        @Override
        public boolean anyStop(boolean here, long step) {
            return here;
        }

        @Override
        public double[] sum(double[] values, String what) {
            return values;
        }
    };
}
