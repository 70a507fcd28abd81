package org.densenet.train.dist;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

import org.densenet.engine.cuda.CudaBackend;
import org.densenet.engine.cuda.GradientAllReduce;
import org.densenet.engine.cuda.ffm.Nccl;

/**
 * This process's ranks of one NCCL communicator, a platform thread and a CUDA backend each: each
 * thread binds its device, joins the communicator and runs its body. The first rank to fail, or to
 * end early with a result that ends the run (a diverged training), aborts the others' collectives
 * with a message naming it, so none waits out its timeout for a peer that is gone; a rank that
 * joins after that is aborted at once. Interrupting the caller aborts every rank. Every
 * communicator is destroyed when all threads have ended. Used by {@code train --gpus} and
 * {@code bench step --gpus}.
 */
public final class RankThreads {
    /** One rank's work, on its own thread, with its backend and its communicator (which it must not close). */
    @FunctionalInterface
    public interface Body<R> {
        R run(int rank, CudaBackend backend, GradientAllReduce reduce) throws Exception;
    }

    /** What ended the ranks early: a rank's exception, or a result that ends the run. */
    public sealed interface End permits Failed, Stopped {
        int rank();
    }

    public record Failed(int rank, Throwable error) implements End {
    }

    public record Stopped(int rank, Object result, String message) implements End {
    }

    /** Each local rank's result (null where it failed), in local order, and what ended the run early, the first to happen, or null. */
    public record Outcome<R>(List<R> results, End first) {
    }

    /**
     * The communicator's ranks {@code firstRank} onwards of {@code size}, meeting by {@code uniqueId}; its calls are watched
     * with {@code timeout}.
     */
    public record Communicator(Nccl nccl, byte[] uniqueId, int firstRank, int size, Duration timeout) {
        public Communicator {
            if (size < 1 || firstRank < 0 || firstRank >= size) throw new IllegalArgumentException("rank " + firstRank + " of " + size);
            if (uniqueId.length != Nccl.UNIQUE_ID_BYTES) throw new IllegalArgumentException("an NCCL unique id of " + uniqueId.length + " bytes");
        }
    }

    private RankThreads() {
    }

    /**
     * Runs {@code body} on {@code backends} as ranks {@code comm.firstRank()} onwards, threads named {@code name}-rank-N, and
     * returns when every thread has ended. {@code stops} gives the message of a result that ends the run for every rank, or
     * null for one that does not.
     */
    public static <R> Outcome<R> run(String name, Communicator comm, List<CudaBackend> backends, Body<R> body, Function<R, String> stops) {
        int n = backends.size();
        if (n < 1 || comm.firstRank() + n > comm.size()) {
            throw new IllegalArgumentException(n + " GPUs from rank " + comm.firstRank() + " do not fit a world of " + comm.size());
        }
        AtomicReferenceArray<GradientAllReduce> reduces = new AtomicReferenceArray<>(n);
        AtomicReferenceArray<R> results = new AtomicReferenceArray<>(n);
        AtomicReference<End> first = new AtomicReference<>();
        Thread[] threads = new Thread[n];
        for (int i = 0; i < n; i++) {
            int local = i, rank = comm.firstRank() + i;
            threads[i] = Thread.ofPlatform().name(name + "-rank-" + rank).unstarted(() -> {
                CudaBackend backend = backends.get(local);
                try {
                    // Any call binds the device's context to this thread; ncclCommInitRank joins on the current one.
                    backend.synchronize();
                    GradientAllReduce reduce = new GradientAllReduce(backend, comm.nccl().initRank(comm.size(), comm.uniqueId(), rank), comm.timeout());
                    reduces.set(local, reduce);
                    // a rank that failed while this one joined has aborted only those that had joined then
                    End before = first.get();
                    if (before != null) reduce.abort(reason(before, comm.size()));
                    R r = body.run(rank, backend, reduce);
                    results.set(local, r);
                    String stop = r == null ? null : stops.apply(r);
                    if (stop != null && first.compareAndSet(null, new Stopped(rank, r, stop))) endOthers(reduces, local, reason(first.get(), comm.size()));
                } catch (Throwable t) {
                    if (first.compareAndSet(null, new Failed(rank, t))) endOthers(reduces, local, reason(first.get(), comm.size()));
                }
            });
        }
        for (Thread t : threads) t.start();
        try {
            for (Thread t : threads) t.join();
        } catch (InterruptedException e) {
            endOthers(reduces, -1, "the process was interrupted");
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the ranks ran", e);
        } finally {
            for (Thread t : threads) joinQuietly(t);
            for (int i = 0; i < n; i++) if (reduces.get(i) != null) closeQuietly(reduces.get(i));
        }
        List<R> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) list.add(results.get(i));
        return new Outcome<>(list, first.get());
    }

    /** "rank R of N failed: ..." or "rank R of N stopped: ...". */
    public static String reason(End why, int size) {
        return switch (why) {
            case Stopped s -> "rank " + s.rank() + " of " + size + " stopped: " + s.message();
            case Failed f -> "rank " + f.rank() + " of " + size + " failed: "
                    + (f.error().getMessage() != null ? f.error().getMessage() : f.error().toString());
        };
    }

    private static void endOthers(AtomicReferenceArray<GradientAllReduce> reduces, int except, String why) {
        for (int i = 0; i < reduces.length(); i++) {
            GradientAllReduce r = reduces.get(i);
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

    private static void closeQuietly(GradientAllReduce r) {
        try {
            r.close();
        } catch (RuntimeException ignored) {
            // an aborted communicator has nothing left to destroy
        }
    }
}
