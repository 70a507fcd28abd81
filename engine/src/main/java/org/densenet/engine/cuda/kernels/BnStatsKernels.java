package org.densenet.engine.cuda.kernels;

import static org.densenet.engine.cuda.kernels.DeviceSlice.requireVectors;

import java.util.Objects;

/**
 * Launchers of kernels/src/main/cuda/bn_stats.cu: per-channel batch mean and biased variance of a
 * channel slice (a chunked reduction into the module's scratch, then one thread per channel), and
 * PyTorch's running-statistics update. Per-channel vectors are contiguous float32 [C] device
 * buffers given by address; x is float32 or 16 bits ({@link DeviceSlice#dtype()}), the statistics
 * float32 either way.
 */
public final class BnStatsKernels {
    public static final String STATS_PARTIAL = "bn_stats_partial_f32";
    public static final String STATS_FINALIZE = "bn_stats_finalize_f32";
    public static final String RUNNING_UPDATE = "bn_running_update_f32";
    public static final String STATS_GATHER = "bn_stats_gather_f32";
    public static final String STATS_COMBINE = "bn_stats_combine_f32";

    private final KernelModule module;

    public BnStatsKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    /** mean[c], var[c] (biased) over (N, H, W) of x. */
    public void statistics(DeviceSlice x, long mean, long var) {
        requireVectors(mean, var);
        LaunchGeometry.Chunks k = LaunchGeometry.chunks(x.n(), x.hw());
        long partial = partialSums(module, x, k);
        module.launch(x.kernel("bn_stats_finalize"), LaunchGeometry.linear(x.c()), new KernelArgs().ptr(partial).ptr(x.address())
                .i32(x.n()).i32(x.c()).i64(x.hw()).i32(k.count()).ptr(mean).ptr(var));
    }

    /**
     * mean[c], var[c] (biased) over (N, H, W) of every replica's x (SyncBatchNorm), each replica's x
     * of the same shape: this replica's mean and sum of squared deviations per channel, gathered
     * through one all-reduce of {@code ranks * C * 2} doubles, then combined in rank order.
     */
    public void replicaStatistics(DeviceSlice x, long mean, long var, ReplicaSums replicas) {
        requireVectors(mean, var);
        int c = x.c(), ranks = replicas.replicas();
        LaunchGeometry.Chunks k = LaunchGeometry.chunks(x.n(), x.hw());
        long partialBytes = Math.ceilDiv(partialBytes(c, k), 256) * 256, gatheredDoubles = 2L * ranks * c;
        long partial = module.scratch(partialBytes + 8 * gatheredDoubles), gathered = partial + partialBytes;
        launchPartial(module, x, k, partial);
        double count = (double) x.n() * x.hw();
        module.launch(x.kernel("bn_stats_gather"), LaunchGeometry.linear(c), new KernelArgs().ptr(partial).ptr(x.address()).i32(c).i64(x.hw())
                .i32(k.count()).f64(count).i32(replicas.rank()).i32(ranks).ptr(gathered));
        replicas.allReduce(gathered, gatheredDoubles, false, "the batch statistics of " + c + " channels (--sync-bn)");
        module.launch(STATS_COMBINE, LaunchGeometry.linear(c), new KernelArgs().ptr(gathered).i32(c).i32(ranks).f64(count)
                .ptr(mean).ptr(var));
    }

    /** Launches the chunked sums of x's statistics into the module's scratch; returns where they are. */
    static long partialSums(KernelModule module, DeviceSlice x, LaunchGeometry.Chunks k) {
        long partial = module.scratch(partialBytes(x.c(), k));
        launchPartial(module, x, k, partial);
        return partial;
    }

    private static void launchPartial(KernelModule module, DeviceSlice x, LaunchGeometry.Chunks k, long partial) {
        module.launch(x.kernel("bn_stats_partial"), LaunchGeometry.perChannelChunks(x.c(), x.hw(), k), new KernelArgs().ptr(x.address()).i64(x.ns())
                .i32(x.n()).i32(x.c()).i64(x.hw()).i32(k.samplesPerChunk()).i32(k.count()).ptr(partial));
    }

    /** Bytes of the partial sums of a chunked reduction: two doubles per channel and chunk. */
    static long partialBytes(int channels, LaunchGeometry.Chunks k) {
        return 16L * channels * k.count();
    }

    /**
     * running = (1 - momentum) * running + momentum * batch over {@code channels} channels, the batch
     * variance scaled by count / (count - 1), count = N*H*W of the batch the statistics came from;
     * in double, rounded once, as the CPU backend does.
     */
    public void updateRunning(int channels, long mean, long var, long count, double momentum, long runningMean, long runningVar) {
        if (channels < 1) throw new IllegalArgumentException("channels must be >= 1, got " + channels);
        if (count < 1) throw new IllegalArgumentException("running statistics need a batch of at least 1 value per channel, got " + count);
        checkMomentum(momentum);
        requireVectors(mean, var, runningMean, runningVar);
        module.launch(RUNNING_UPDATE, LaunchGeometry.linear(channels), new KernelArgs().ptr(mean).ptr(var).i32(channels)
                .f64(momentum).f64(unbias(count)).ptr(runningMean).ptr(runningVar));
    }

    static void checkMomentum(double momentum) {
        if (!(momentum >= 0 && momentum <= 1)) throw new IllegalArgumentException("batch-norm momentum must be in [0, 1], got " + momentum);
    }

    /** count / (count - 1), or 1 for a single value (the CPU backend's rule). */
    public static double unbias(long count) {
        return count > 1 ? (double) count / (count - 1) : 1.0;
    }
}
