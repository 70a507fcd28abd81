package org.densenet.train.dist;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;

import org.densenet.engine.cuda.CudaBackend;
import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.train.Checkpoint;
import org.densenet.train.DataParallel;
import org.densenet.train.Trainer;

/**
 * Data-parallel training in one process: a thread and a CUDA backend per local GPU, each a rank of
 * one NCCL communicator (docs/DISTRIBUTED.md, "Launch model"). Every rank runs the ordinary
 * {@link Trainer} with its {@link NcclDataParallel}; rank 0 prints and writes. A rank that fails
 * or diverges ends the others' collectives through ncclCommAbort with a message naming it, and
 * the run ends with what that rank ended with.
 */
public final class DataParallelTraining {
    /**
     * The NCCL world this process's GPUs join as ranks {@code firstRank} onwards of {@code size}, meeting by {@code uniqueId};
     * {@code overlap}: each gradient bucket's all-reduce starts during backward, on a second stream (else all after backward);
     * gradients go in buckets of {@code firstBucketBytes}, then {@code bucketBytes} ({@link GradientBuckets#plan}).
     */
    public record World(Nccl nccl, byte[] uniqueId, int firstRank, int size, Duration timeout, boolean overlap, long firstBucketBytes,
                        long bucketBytes) {
        /** A world whose all-reduces overlap backward, in DDP's buckets. */
        public World(Nccl nccl, byte[] uniqueId, int firstRank, int size, Duration timeout) {
            this(nccl, uniqueId, firstRank, size, timeout, true, GradientBuckets.DEFAULT_FIRST_CAP_BYTES, GradientBuckets.DEFAULT_CAP_BYTES);
        }

        /** The same world with the all-reduces overlapping backward or not, and buckets of these sizes. */
        public World with(boolean overlapping, long firstBytes, long bytes) {
            return new World(nccl, uniqueId, firstRank, size, timeout, overlapping, firstBytes, bytes);
        }

        public World {
            if (size < 1 || firstRank < 0 || firstRank >= size) throw new IllegalArgumentException("rank " + firstRank + " of " + size);
            if (firstBucketBytes < 1 || bucketBytes < 1) throw new IllegalArgumentException("buckets of " + firstBucketBytes + ", " + bucketBytes + " bytes");
            if (uniqueId.length != Nccl.UNIQUE_ID_BYTES) throw new IllegalArgumentException("an NCCL unique id of " + uniqueId.length + " bytes");
        }
    }

    /** Makes the trainer of {@code rank} on its backend (the caller decides who prints: rank 0). */
    @FunctionalInterface
    public interface Trainers {
        Trainer make(int rank, CudaBackend backend);
    }

    /** A rank failed; the message names it. */
    public static final class RankFailure extends RuntimeException {
        RankFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private DataParallelTraining() {
    }

    /** Trains on {@code backends} as ranks {@code world.firstRank()} onwards; returns the first local rank's result. */
    public static Trainer.Result run(World world, List<CudaBackend> backends, Trainers trainers, Checkpoint resume) throws IOException {
        return run(world, backends, trainers, resume, UnaryOperator.identity());
    }

    /** As {@link #run(World, List, Trainers, Checkpoint)}, each rank's collectives wrapped by {@code wrap} (a test records them). */
    public static Trainer.Result run(World world, List<CudaBackend> backends, Trainers trainers, Checkpoint resume,
                                     UnaryOperator<DataParallel> wrap) throws IOException {
        RankThreads.Communicator comm = new RankThreads.Communicator(world.nccl(), world.uniqueId(), world.firstRank(), world.size(), world.timeout());
        RankThreads.Outcome<Trainer.Result> out = RankThreads.run("train", comm, backends, (rank, backend, reduce) -> {
            NcclDataParallel par = new NcclDataParallel(reduce, world.overlap(), world.firstBucketBytes(), world.bucketBytes());
            return trainers.make(rank, backend).dataParallel(wrap.apply(par)).run(resume);
        }, r -> r.outcome() == Trainer.Outcome.DIVERGED ? r.message() : null);
        return switch (out.first()) {
            case null -> out.results().getFirst();
            case RankThreads.Stopped s -> (Trainer.Result) s.result();
            case RankThreads.Failed f when f.error() instanceof IOException io ->
                    throw new IOException(RankThreads.reason(f, world.size()) + "; " + io.getMessage(), io);
            case RankThreads.Failed f -> throw new RankFailure(RankThreads.reason(f, world.size()), f.error());
        };
    }
}
