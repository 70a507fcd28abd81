package org.densenet.engine.cuda;

import java.time.Duration;
import java.util.Locale;

import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.engine.cuda.ffm.NcclComm;

/**
 * Ends a rank whose collectives cannot finish. A peer that died or hangs never shows up as an
 * error on the other ranks' streams: their collectives simply never complete, and a host thread
 * waiting on the stream would wait forever. So a daemon thread polls the communicator's
 * asynchronous error and the age of the pending collective, and calls ncclCommAbort (which NCCL
 * allows from another thread) when NCCL reports an error or the collective is older than the
 * timeout. The aborted collective then fails on the rank's own thread, and {@link #failure()}
 * says why, naming the rank and what was pending.
 */
public final class NcclWatchdog implements AutoCloseable {
    private final NcclComm comm;
    private final Duration timeout;
    private final Thread thread;
    private volatile String pending;
    /** What a timeout's message adds for the pending collective (what else may hang it, and the way round), or null. */
    private volatile String pendingHint;
    private volatile long pendingSince;
    private volatile String failure;
    private volatile boolean closed;

    public NcclWatchdog(NcclComm comm, Duration timeout, Duration poll) {
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("the NCCL timeout must be positive, got " + timeout);
        this.comm = comm;
        this.timeout = timeout;
        this.thread = Thread.ofPlatform().daemon().name("nccl-watchdog-rank-" + comm.rank()).unstarted(() -> watch(poll.toMillis()));
        thread.start();
    }

    /** A collective named {@code what} ("all-reduce of bucket 2 of step 310") is queued; its clock starts. */
    public void begin(String what) {
        begin(what, null);
    }

    /** As {@link #begin(String)}, a timeout's message ending with {@code hint} (null: none). */
    public void begin(String what, String hint) {
        pendingSince = System.nanoTime();
        pendingHint = hint;
        pending = what;
    }

    /** The pending collective completed (its stream was seen past it). */
    public void end() {
        pending = null;
    }

    /** Why the communicator was aborted, or null while it is healthy. */
    public String failure() {
        return failure;
    }

    /** An exception for a collective that failed on this rank's thread, with the watchdog's reason when it caused it. */
    public RuntimeException explain(RuntimeException fromCall) {
        String why = failure;
        return why == null ? fromCall : new NcclAbortedException(why, fromCall);
    }

    private void watch(long pollMs) {
        while (!closed && failure == null) {
            try {
                Thread.sleep(Math.max(1, pollMs));
            } catch (InterruptedException e) {
                return;
            }
            if (closed || !comm.isOpen()) return;
            String what = pending;
            int async;
            try {
                async = comm.asyncError();
            } catch (RuntimeException e) {
                return; // closed meanwhile
            }
            if (async != Nccl.SUCCESS) {
                abort(comm.asyncFailure(async, what == null ? "idle between collectives" : what).getMessage());
            } else if (what != null && System.nanoTime() - pendingSince > timeout.toNanos()) {
                String hint = pendingHint;
                abort("rank " + comm.rank() + " of " + comm.size() + ": " + what + " did not complete within " + seconds(timeout)
                        + " (--nccl-timeout); another rank died, hangs or never reached it" + (hint == null ? "" : "; " + hint));
            }
        }
    }

    /**
     * Ends the communicator from outside the collectives, e.g. when a rank in the same process
     * failed; the rank's pending or next collective then fails with {@code why}.
     */
    public void abort(String why) {
        if (failure != null) return;
        failure = why + "; the communicator was aborted";
        comm.abort();
    }

    /** "30 s", "0.5 s": how timeouts are quoted in messages. */
    public static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A collective that ended because the watchdog aborted its communicator; the message says why. */
    public static final class NcclAbortedException extends RuntimeException {
        NcclAbortedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
