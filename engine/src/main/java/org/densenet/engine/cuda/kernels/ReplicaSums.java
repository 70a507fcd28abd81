package org.densenet.engine.cuda.kernels;

/**
 * Cross-replica reductions of small float64 device buffers, queued in stream order between two
 * kernels: what batch norm over every data-parallel replica's batch (SyncBatchNorm) needs. On a
 * CUDA backend it is an NCCL all-reduce on the backend's stream; every replica must make the same
 * calls in the same order.
 */
public interface ReplicaSums {
    /** This replica, 0 to {@link #replicas()} - 1. */
    int rank();

    /** Replicas in all. */
    int replicas();

    /**
     * Replaces {@code doubles} float64 values at device address {@code address} by their sum over the
     * replicas, or their mean when {@code average}, in place; {@code what} names it in errors.
     */
    void allReduce(long address, long doubles, boolean average, String what);
}
