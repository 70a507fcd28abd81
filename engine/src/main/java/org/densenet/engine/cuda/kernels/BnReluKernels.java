package org.densenet.engine.cuda.kernels;

import static org.densenet.engine.cuda.kernels.DeviceSlice.requireSameKind;
import static org.densenet.engine.cuda.kernels.DeviceSlice.requireVectors;

import java.util.Objects;

/**
 * Launchers of kernels/src/main/cuda/bn_relu.cu: batch-norm apply (optionally + ReLU) from a
 * channel slice to a channel slice, and its training-mode backward with the ReLU mask recomputed
 * from x, both computed as the CPU backend computes them. mean, var, gamma, beta, dgamma, dbeta are
 * contiguous float32 [C] device buffers, C = x.c(). Apply is one launch (its per-channel constants
 * computed per row in the kernel), and a training-mode forward moves the running statistics in it
 * too, and may finish the batch statistics there (two launches with their chunked sums); backward is two (chunked sums into the module's scratch, then the elementwise dx, which
 * finishes the sums per row and writes dgamma and dbeta). The activations (x, y, dy, dx) are all
 * float32 or all of one 16-bit type, which picks the kernels; the vectors are float32 always.
 */
public final class BnReluKernels {
    public static final String APPLY = "bn_apply_f32";
    public static final String BACKWARD_REDUCE = "bn_backward_reduce_f32";
    public static final String BACKWARD_DX = "bn_backward_dx_f32";

    private final KernelModule module;

    public BnReluKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    /** y = relu?(gamma * (x - mean) / sqrt(var + eps) + beta). */
    public void apply(DeviceSlice x, long mean, long var, long gamma, long beta, double eps, boolean relu, DeviceSlice y) {
        requireSameKind("batchNormApply", x, "x", y, "y");
        requireVectors(mean, var, gamma, beta);
        checkEps(eps);
        launchApply(x, mean, var, gamma, beta, eps, relu, y, 0, 1, 0, 0, 0, 0);
    }

    /**
     * {@link #apply} with the batch statistics of x, and in the same launch what
     * {@link BnStatsKernels#updateRunning} does with them: the running statistics of a training-mode
     * forward, count = N*H*W of x. With {@code computeStats}, the statistics are computed first
     * (written to mean and var as {@link BnStatsKernels#statistics} writes them), their chunked sums
     * in a launch of their own and their finish in the apply kernel; x and y must then differ.
     */
    public void applyTraining(DeviceSlice x, long mean, long var, boolean computeStats, long gamma, long beta, double eps, boolean relu,
                              DeviceSlice y, double momentum, long runningMean, long runningVar) {
        applyTraining(x, mean, var, computeStats, gamma, beta, eps, relu, y, momentum, runningMean, runningVar, null);
    }

    /**
     * As {@link #applyTraining(DeviceSlice, long, long, boolean, long, long, double, boolean, DeviceSlice, double, long, long)}
     * with the statistics of every replica's batch when {@code replicas} is not null (SyncBatchNorm): computed by
     * {@link BnStatsKernels#replicaStatistics} when {@code computeStats}, and the running statistics moved with
     * count = replicas * N*H*W, as PyTorch's SyncBatchNorm counts them.
     */
    public void applyTraining(DeviceSlice x, long mean, long var, boolean computeStats, long gamma, long beta, double eps, boolean relu,
                              DeviceSlice y, double momentum, long runningMean, long runningVar, ReplicaSums replicas) {
        requireSameKind("batchNormApply (training)", x, "x", y, "y");
        requireVectors(mean, var, gamma, beta, runningMean, runningVar);
        checkEps(eps);
        BnStatsKernels.checkMomentum(momentum);
        // the kernel reads mean and var while one thread per channel writes the running pair
        if (runningMean == mean || runningMean == var || runningVar == mean || runningVar == var) {
            throw new IllegalArgumentException("batchNormApply (training): the running statistics must not be the batch statistics");
        }
        // every row reads sample 0's first value of its channel as the shift, which an in-place y would overwrite
        if (computeStats && x.address() == y.address()) {
            throw new IllegalArgumentException("batchNormApply (training): computing the statistics needs y apart from x");
        }
        long count = (long) x.n() * x.hw();
        if (replicas != null) {
            if (computeStats) new BnStatsKernels(module).replicaStatistics(x, mean, var, replicas);
            launchApply(x, mean, var, gamma, beta, eps, relu, y, momentum, BnStatsKernels.unbias(count * replicas.replicas()), runningMean,
                    runningVar, 0, 1);
            return;
        }
        LaunchGeometry.Chunks k = LaunchGeometry.chunks(x.n(), x.hw());
        long partial = computeStats ? BnStatsKernels.partialSums(module, x, k) : 0;
        launchApply(x, mean, var, gamma, beta, eps, relu, y, momentum, BnStatsKernels.unbias(count), runningMean, runningVar,
                partial, k.count());
    }

    /** runningMean == 0: no running update; partial == 0: mean and var are given, not finished here. */
    private void launchApply(DeviceSlice x, long mean, long var, long gamma, long beta, double eps, boolean relu, DeviceSlice y,
                             double momentum, double unbias, long runningMean, long runningVar, long partial, int chunks) {
        module.launch(x.kernel("bn_apply"), rowsGeometry(x), new KernelArgs().ptr(x.address()).i64(x.ns()).ptr(y.address()).i64(y.ns())
                .i32(x.n()).i32(x.c()).i64(x.hw()).ptr(mean).ptr(var).ptr(gamma).ptr(beta).f64(eps).bool(relu)
                .f64(momentum).f64(unbias).ptr(runningMean).ptr(runningVar).ptr(partial).i32(chunks));
    }

    /**
     * dgamma, dbeta (overwritten) and dx (overwritten, or added to when accumulateDx) of
     * training-mode BN (+ ReLU) whose mean/var were computed from this x.
     */
    public void backward(DeviceSlice x, DeviceSlice dy, long mean, long var, long gamma, long beta, double eps, boolean relu,
                         DeviceSlice dx, boolean accumulateDx, long dgamma, long dbeta) {
        backward(x, dy, mean, var, gamma, beta, eps, relu, dx, accumulateDx, dgamma, dbeta, null);
    }

    /**
     * As {@link #backward(DeviceSlice, DeviceSlice, long, long, long, long, double, boolean, DeviceSlice, boolean, long, long)}
     * for statistics of every replica's batch when {@code replicas} is not null (SyncBatchNorm), each replica's x of
     * the same shape: the chunk sums of g and g * (x - mean) are averaged over the replicas between the two launches,
     * so that dx, with this replica's N*H*W as the count, sees the sums over all replicas divided by their count, and
     * dgamma and dbeta are the replicas' mean, which the gradients' average then leaves as they are.
     */
    public void backward(DeviceSlice x, DeviceSlice dy, long mean, long var, long gamma, long beta, double eps, boolean relu,
                         DeviceSlice dx, boolean accumulateDx, long dgamma, long dbeta, ReplicaSums replicas) {
        requireSameKind("batchNormBackward", x, "x", dy, "dy");
        requireSameKind("batchNormBackward", x, "x", dx, "dx");
        requireVectors(mean, var, gamma, beta, dgamma, dbeta);
        checkEps(eps);
        LaunchGeometry.Chunks k = LaunchGeometry.chunks(x.n(), x.hw());
        long partial = module.scratch(BnStatsKernels.partialBytes(x.c(), k));
        module.launch(x.kernel("bn_backward_reduce"), LaunchGeometry.perChannelChunks(x.c(), x.hw(), k), new KernelArgs().ptr(x.address()).i64(x.ns())
                .ptr(dy.address()).i64(dy.ns()).i32(x.n()).i32(x.c()).i64(x.hw()).i32(k.samplesPerChunk()).i32(k.count())
                .ptr(mean).ptr(var).ptr(gamma).ptr(beta).f64(eps).bool(relu).ptr(partial));
        if (replicas != null) {
            replicas.allReduce(partial, 2L * x.c() * k.count(), true, "the batch-norm gradient sums of " + x.c() + " channels (--sync-bn)");
        }
        module.launch(x.kernel("bn_backward_dx"), rowsGeometry(x), new KernelArgs().ptr(x.address()).i64(x.ns()).ptr(dy.address()).i64(dy.ns())
                .ptr(dx.address()).i64(dx.ns()).i32(x.n()).i32(x.c()).i64(x.hw()).i32(k.count()).ptr(partial)
                .ptr(mean).ptr(var).ptr(gamma).ptr(beta).f64(eps).bool(relu).bool(accumulateDx).ptr(dgamma).ptr(dbeta));
    }

    /** Rows are (sample, channel) planes of h*w pixels: the elementwise kernels' geometry. */
    public static LaunchGeometry rowsGeometry(DeviceSlice x) {
        return LaunchGeometry.rows((long) x.n() * x.c(), x.hw());
    }

    private static void checkEps(double eps) {
        if (!(eps > 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("batch-norm eps must be a finite number > 0, got " + eps);
    }
}
