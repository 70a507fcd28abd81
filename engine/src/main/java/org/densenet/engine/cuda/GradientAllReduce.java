package org.densenet.engine.cuda;

import java.time.Duration;

import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.engine.cuda.ffm.NcclComm;
import org.densenet.engine.cuda.kernels.ReplicaSums;

/**
 * One rank's collectives over a CUDA backend's tensors: averaging ranges (buckets) of the flat
 * gradient buffer in place, and broadcasting rank 0's parameters. Work is queued on the backend's
 * own stream, behind the ops that produced it; every call is watched by an {@link NcclWatchdog},
 * whose reason replaces NCCL's when it aborted the communicator. Closing stops the watchdog and
 * destroys the communicator.
 *
 * <p>Inside a stream capture (a training step captured as a CUDA graph), the gradient averages and
 * batch norm's sums are captured with the step: NCCL (2.9 and later) records a collective queued on a
 * capturing stream, or on one that joined the capture through an event wait, into the graph, and the
 * graph's launch performs it. What would make the host wait is left out of the capture (the waits
 * after the averages) or refused (broadcasts and host sums, which read their result on the host), and
 * every replay of such a graph runs under the watchdog instead, the host waiting for it as it waits
 * for uncaptured averages ({@link #replay}). On a GPU this path is unverified: it has run on the
 * emulated device and its stand-in NCCL only.
 *
 * <p>Two ways to average: {@link #average}, every bucket on the backend's stream after backward, or
 * {@link #startAverage} per bucket as backward finishes it, on a second stream ({@link SideStream}),
 * then {@link #finishAverages} (docs/DISTRIBUTED.md, "Overlap"). Batch norm's per-channel sums
 * (--sync-bn, {@link ReplicaSums}) also go through the second stream, so NCCL sees one stream.
 */
public final class GradientAllReduce implements ReplicaSums, ReplayWatch, AutoCloseable {
    private final CudaBackend backend;
    private final NcclComm comm;
    private final NcclWatchdog watchdog;
    /** Times the overlapped averages when asked ({@link #timeAverages}), else null. */
    private AllReduceTimer timer;
    private Timed lastTimed = new Timed(0, 0, 0);
    /** The first collective a capture held, to name the pending replay in the watchdog's message. */
    private String capturedWhat;

    /** One step's overlapped averages: their all-reduces' time summed over the buckets, the part of it before backward ended, the buckets. */
    public record Timed(double allReduceMillis, double overlappedMillis, int buckets) {
    }

    public GradientAllReduce(CudaBackend backend, NcclComm comm, Duration timeout) {
        this.backend = backend;
        this.comm = comm;
        this.watchdog = new NcclWatchdog(comm, timeout, Duration.ofMillis(Math.max(10, Math.min(1_000, timeout.toMillis() / 20))));
    }

    public NcclComm comm() {
        return comm;
    }

    @Override
    public int rank() {
        return comm.rank();
    }

    @Override
    public int replicas() {
        return comm.size();
    }

    /**
     * Training-mode batch norm of the backend over every rank's batch (--sync-bn), its per-channel sums
     * all-reduced through {@link #allReduce}, when {@code on}; over this rank's batch alone otherwise.
     */
    public void synchronizeBatchNorm(boolean on) {
        backend.synchronizeBatchNorm(on ? this : null);
    }

    /**
     * A batch norm's per-channel float64 sums, all-reduced in place between the kernel that makes them and
     * the one that reads them: on the collectives' stream, which waits for the backend's stream first, and
     * the backend's stream then waits for it. The host does not wait: a peer that never comes shows as the
     * next watched wait outliving the timeout (on the emulated device, which blocks here, as this call).
     */
    @Override
    public void allReduce(long address, long doubles, boolean average, String what) {
        capturedHere(what);
        // On the collectives' stream, between two waits, so that every NCCL call of this communicator is on one
        // stream in the order made, whether gradient buckets are in flight there or not.
        SideStream side = backend.sideStream();
        side.follow(what);
        watchedCall(what, () -> comm.allReduce(address, address, doubles, Nccl.FLOAT64, average ? Nccl.AVG : Nccl.SUM, side.address(), what));
        side.join(what);
    }

    /**
     * Starts averaging elements [offset, offset + count) of {@code flat} (a bucket whose gradients backward
     * has queued) on the collectives' stream, behind everything queued on the backend's stream so far, and
     * returns: backward goes on meanwhile. {@link #finishAverages} ends a step's averaging.
     */
    public void startAverage(Tensor flat, long offset, long count, String what) {
        long base = floatBase("all-reduce of the gradients", flat);
        if (offset < 0 || count < 1 || offset + count > flat.numel()) {
            throw new IllegalArgumentException(what + ": [" + offset + ", " + (offset + count) + ") is outside " + flat.numel() + " elements");
        }
        SideStream side = backend.sideStream();
        side.follow(what);
        long at = base + offset * Float.BYTES;
        // a captured step's events are not recorded by its replays: no timing inside a capture
        boolean timed = timer != null && !capturedHere(what);
        if (timed) timer.bucketStart(side);
        watchedCall(what, () -> comm.allReduce(at, at, count, Nccl.FLOAT32, Nccl.AVG, side.address(), what));
        if (timed) timer.bucketEnd(side);
    }

    /**
     * The backend's stream (the update) waits for every average started, and so does the host, watched:
     * a peer that never comes shows as this wait outliving the timeout. Inside a capture only the stream
     * waits (which also rejoins the collectives' stream to the capture); the host waits at each replay.
     */
    public void finishAverages(String what) {
        SideStream side = backend.sideStream();
        if (capturedHere(what)) {
            side.join(what);
            return;
        }
        Timed t = timer != null ? timer.finish() : null;
        side.join(what);
        watchedCall(what, () -> side.synchronize(what));
        if (t != null) lastTimed = t;
    }

    /** Backward has queued its last op: with {@link #timeAverages} on, the end of the time the all-reduces can overlap. */
    public void backwardQueued() {
        if (timer != null && !backend.capturing()) timer.backwardEnd();
    }

    /**
     * From now on, {@link #lastAverages()} times each step's overlapped averages with CUDA events (for {@code bench step --gpus}).
     * Steps run uncaptured only: a replayed graph does not record the events its capture saw.
     */
    public void timeAverages() {
        if (timer == null) timer = new AllReduceTimer(backend.context());
    }

    /** The last {@link #finishAverages} step's times, with {@link #timeAverages} on. */
    public Timed lastAverages() {
        return lastTimed;
    }

    /**
     * Whether a capture is under way, in which case the collective named {@code what} is captured with it and the graph's
     * replays run under this watch ({@link #replay}).
     */
    private boolean capturedHere(String what) {
        if (!backend.capturing()) return false;
        if (capturedWhat == null) capturedWhat = what;
        backend.watchReplays(this);
        return true;
    }

    /**
     * A replay of a graph holding this rank's collectives: launched and waited for under the watchdog, so that a peer that
     * never launches its graph shows as this replay outliving the timeout, as an uncaptured average's wait would. The host
     * waits for every step's averages uncaptured too (and for the stop flag after it), so the wait costs no overlap that
     * was there. A communicator already ended (a failed peer in this process) fails the replay before its launch.
     */
    @Override
    public void replay(String what, Runnable launch) {
        String pending = "a replay of the captured " + what + " holding its collectives (first captured: " + capturedWhat + ")";
        watchedCall(pending, REPLAY_HINT, () -> {
            if (!comm.isOpen()) throw new IllegalStateException(pending + ": rank " + comm.rank() + "'s communicator is closed or aborted");
            launch.run();
            backend.synchronize();
        });
    }

    /** NCCL's guide: graphs holding collectives on several GPUs of one process may deadlock in the graph launch. */
    static final String REPLAY_HINT = "with several GPUs in one process a graph holding NCCL collectives can also deadlock in its launch"
            + " (NCCL's guide): --cuda-graphs off issues the collectives uncaptured";

    /** A call that may block the host on a collective (the stand-in NCCL blocks in the call itself), under the watchdog. */
    private void watchedCall(String what, Runnable call) {
        watchedCall(what, null, call);
    }

    /** As {@link #watchedCall(String, Runnable)}, a timeout's message ending with {@code hint}. */
    private void watchedCall(String what, String hint, Runnable call) {
        watchdog.begin(what, hint);
        try {
            call.run();
        } catch (CudaException | IllegalStateException e) {
            throw watchdog.explain(e);
        } finally {
            watchdog.end();
        }
    }

    /** Ends this rank's collectives from another thread (a failed peer in the same process), saying why. */
    public void abort(String why) {
        watchdog.abort(why);
    }

    /**
     * Replaces elements [offsets[i], offsets[i] + counts[i]) of {@code flat} by their average over
     * the ranks, bucket by bucket in the order given, in one NCCL group. {@code step} names the
     * step in errors.
     */
    public void average(Tensor flat, long[] offsets, long[] counts, String step) {
        if (offsets.length != counts.length) throw new IllegalArgumentException(offsets.length + " offsets, " + counts.length + " counts");
        long base = floatBase("all-reduce of the gradients", flat);
        long stream = backend.streamAddress();
        String what = "all-reduce of " + offsets.length + (offsets.length == 1 ? " bucket" : " buckets") + " of " + step;
        boolean captured = capturedHere(what);
        Nccl nccl = comm.library();
        watchdog.begin(what);
        try {
            nccl.groupStart();
            for (int i = 0; i < offsets.length; i++) {
                if (offsets[i] < 0 || counts[i] < 1 || offsets[i] + counts[i] > flat.numel()) {
                    throw new IllegalArgumentException("bucket " + i + " [" + offsets[i] + ", " + (offsets[i] + counts[i]) + ") is outside "
                            + flat.numel() + " elements");
                }
                long at = base + offsets[i] * Float.BYTES;
                comm.allReduce(at, at, counts[i], Nccl.FLOAT32, Nccl.AVG, stream, "all-reduce of bucket " + i + " of " + step);
            }
            nccl.groupEnd(what);
            // The host waits here, so a hung peer shows as this wait outliving the watchdog's timeout
            // (finishAverages waits for the collectives' stream the same way); in a capture, at each replay.
            if (!captured) backend.synchronize();
        } catch (CudaException | IllegalStateException e) {
            throw watchdog.explain(e);
        } finally {
            watchdog.end();
        }
    }

    /** Every rank's {@code t} becomes rank {@code root}'s (and so does the 16-bit copy of weights that 16-bit training keeps). */
    public void broadcast(Tensor t, int root, String what) {
        backend.refuseWhileCapturing(what + " (the host waits for it)");
        long at = floatBase(what, t);
        watched(what, () -> comm.broadcast(at, at, t.numel(), Nccl.FLOAT32, root, backend.streamAddress(), what));
        backend.written(t);
    }

    /**
     * Host values summed over the ranks in float64, the same doubles on every rank (evaluation's
     * sums and counts). They travel as the raw bits of the doubles in an int32 buffer, since the
     * backend computes in float32 only.
     */
    public double[] sum(double[] values, String what) {
        int[] bits = new int[2 * values.length];
        for (int i = 0; i < values.length; i++) {
            long b = Double.doubleToRawLongBits(values[i]);
            bits[2 * i] = (int) b;       // little-endian, as NCCL reads a double on every platform it runs on
            bits[2 * i + 1] = (int) (b >>> 32);
        }
        reduceOnDevice(bits, values.length, Nccl.FLOAT64, Nccl.SUM, what);
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) out[i] = Double.longBitsToDouble((bits[2 * i] & 0xFFFFFFFFL) | ((long) bits[2 * i + 1] << 32));
        return out;
    }

    /** The largest of the ranks' {@code value}s, on every rank (a stop requested anywhere). */
    public int max(int value, String what) {
        int[] v = {value};
        reduceOnDevice(v, 1, Nccl.INT32, Nccl.MAX, what);
        return v[0];
    }

    /** All-reduces {@code host}, {@code count} elements of {@code dataType} packed in ints, through a device buffer, in place. */
    private void reduceOnDevice(int[] host, long count, int dataType, int op, String what) {
        backend.refuseWhileCapturing(what + " (its result is read on the host)");
        try (Tensor t = backend.allocate(DType.I32, host.length)) {
            backend.upload(host, t);
            long at = backend.address(what, "tensor", t);
            watched(what, () -> comm.allReduce(at, at, count, dataType, op, backend.streamAddress(), what));
            backend.download(t, host);
        }
    }

    /** Runs a collective under the watchdog and waits for it, so that a peer that never comes shows as this wait outliving the timeout. */
    private void watched(String what, Runnable collective) {
        watchedCall(what, () -> {
            collective.run();
            backend.synchronize();
        });
    }

    private long floatBase(String op, Tensor t) {
        if (t.dtype() != DType.F32 || !t.isContiguous()) throw new IllegalArgumentException(op + ": needs a contiguous float32 tensor, got " + t);
        return backend.address(op, "tensor", t);
    }

    @Override
    public void close() {
        if (timer != null) {
            backend.context().bind();
            timer.close();
        }
        watchdog.close();
        comm.close();
    }
}
