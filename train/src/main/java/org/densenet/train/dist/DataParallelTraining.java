package org.densenet.train.dist;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.UnaryOperator;

import org.densenet.engine.cuda.CudaBackend;
import org.densenet.engine.cuda.GradientAllReduce;
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
        int n = backends.size();
        if (n < 1 || world.firstRank() + n > world.size()) {
            throw new IllegalArgumentException(n + " GPUs from rank " + world.firstRank() + " do not fit a world of " + world.size());
        }
        AtomicReferenceArray<NcclDataParallel> ranks = new AtomicReferenceArray<>(n);
        Trainer.Result[] results = new Trainer.Result[n];
        // What ended the run early, the first to happen: a rank's exception or its diverged result.
        AtomicReference<Object> first = new AtomicReference<>();
        Thread[] threads = new Thread[n];
        for (int i = 0; i < n; i++) {
            int local = i, rank = world.firstRank() + i;
            threads[i] = Thread.ofPlatform().name("train-rank-" + rank).unstarted(() -> {
                CudaBackend backend = backends.get(local);
                try {
                    // Any call binds the device's context to this thread; ncclCommInitRank joins on the current one.
                    backend.synchronize();
                    ranks.set(local, new NcclDataParallel(new GradientAllReduce(backend,
                            world.nccl().initRank(world.size(), world.uniqueId(), rank), world.timeout()), world.overlap(), world.firstBucketBytes(), world.bucketBytes()));
                    if (first.get() != null) ranks.get(local).abort(reason(first.get(), world));
                    Trainer.Result r = trainers.make(rank, backend).dataParallel(wrap.apply(ranks.get(local))).run(resume);
                    results[local] = r;
                    if (r.outcome() == Trainer.Outcome.DIVERGED && first.compareAndSet(null, new Ended(rank, r))) {
                        endOthers(ranks, local, reason(first.get(), world));
                    }
                } catch (Throwable t) {
                    if (first.compareAndSet(null, new Failed(rank, t))) endOthers(ranks, local, reason(first.get(), world));
                }
            });
        }
        for (Thread t : threads) t.start();
        try {
            for (Thread t : threads) t.join();
        } catch (InterruptedException e) {
            endOthers(ranks, -1, "the process was interrupted");
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the ranks trained", e);
        } finally {
            for (Thread t : threads) joinQuietly(t);
            for (int i = 0; i < n; i++) if (ranks.get(i) != null) closeQuietly(ranks.get(i));
        }
        Object why = first.get();
        if (why instanceof Ended e) return e.result();
        if (why instanceof Failed f) {
            if (f.error() instanceof IOException io) throw new IOException(reason(f, world) + "; " + io.getMessage(), io);
            throw new RankFailure(reason(f, world), f.error());
        }
        return results[0];
    }

    private record Failed(int rank, Throwable error) {
    }

    private record Ended(int rank, Trainer.Result result) {
    }

    private static String reason(Object why, World world) {
        if (why instanceof Ended e) return "rank " + e.rank() + " of " + world.size() + " stopped: " + e.result().message();
        Failed f = (Failed) why;
        String msg = f.error().getMessage() != null ? f.error().getMessage() : f.error().toString();
        return "rank " + f.rank() + " of " + world.size() + " failed: " + msg;
    }

    private static void endOthers(AtomicReferenceArray<NcclDataParallel> ranks, int except, String why) {
        for (int i = 0; i < ranks.length(); i++) {
            NcclDataParallel r = ranks.get(i);
            if (i != except && r != null) {
                try {
                    r.abort(why);
                } catch (RuntimeException ignored) {
                    // already ended: what it was doing fails on its own thread either way
                }
            }
        }
    }

    private static void joinQuietly(Thread t) {
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private static void closeQuietly(NcclDataParallel r) {
        try {
            r.close();
        } catch (RuntimeException ignored) {
            // an aborted communicator has nothing left to destroy
        }
    }
}
