package org.densenet.engine.cuda.kernels;

import static org.densenet.engine.cuda.kernels.DeviceSlice.requireSameShape;
import static org.densenet.engine.cuda.kernels.DeviceSlice.requireVectors;

import java.util.Objects;

/**
 * Launchers of kernels/src/main/cuda/bn_relu.cu: batch-norm apply (optionally + ReLU) from a
 * channel slice to a channel slice, and its training-mode backward with the ReLU mask recomputed
 * from x, both computed as the CPU backend computes them. mean, var, gamma, beta, dgamma, dbeta are
 * contiguous float32 [C] device buffers, C = x.c(). Each op's per-channel constants and partial
 * sums live in the module's scratch: apply is two launches (constants, elementwise), backward three
 * (chunked sums, per-channel finish, elementwise dx).
 */
public final class BnReluKernels {
    public static final String SCALE_SHIFT = "bn_scale_shift_f32";
    public static final String APPLY = "bn_apply_f32";
    public static final String BACKWARD_REDUCE = "bn_backward_reduce_f32";
    public static final String BACKWARD_FINALIZE = "bn_backward_finalize_f32";
    public static final String BACKWARD_DX = "bn_backward_dx_f32";

    private final KernelModule module;

    public BnReluKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    /** y = relu?(gamma * (x - mean) / sqrt(var + eps) + beta). */
    public void apply(DeviceSlice x, long mean, long var, long gamma, long beta, double eps, boolean relu, DeviceSlice y) {
        requireSameShape("batchNormApply", x, "x", y, "y");
        requireVectors(mean, var, gamma, beta);
        checkEps(eps);
        long coef = module.scratch(8L * x.c());
        module.launch(SCALE_SHIFT, LaunchGeometry.linear(x.c()), new KernelArgs().ptr(mean).ptr(var).ptr(gamma).ptr(beta)
                .f64(eps).i32(x.c()).ptr(coef));
        module.launch(APPLY, rowsGeometry(x), new KernelArgs().ptr(x.address()).i64(x.ns()).ptr(y.address()).i64(y.ns())
                .i32(x.n()).i32(x.c()).i64(x.hw()).ptr(coef).bool(relu));
    }

    /**
     * dgamma, dbeta (overwritten) and dx (overwritten, or added to when accumulateDx) of
     * training-mode BN (+ ReLU) whose mean/var were computed from this x.
     */
    public void backward(DeviceSlice x, DeviceSlice dy, long mean, long var, long gamma, long beta, double eps, boolean relu,
                         DeviceSlice dx, boolean accumulateDx, long dgamma, long dbeta) {
        requireSameShape("batchNormBackward", x, "x", dy, "dy");
        requireSameShape("batchNormBackward", x, "x", dx, "dx");
        requireVectors(mean, var, gamma, beta, dgamma, dbeta);
        checkEps(eps);
        LaunchGeometry.Chunks k = LaunchGeometry.chunks(x.n(), x.hw());
        long partialBytes = BnStatsKernels.partialBytes(x.c(), k);
        long coefOffset = Math.ceilDiv(partialBytes, 256) * 256;
        long partial = module.scratch(coefOffset + 16L * x.c());
        long coef = partial + coefOffset;
        module.launch(BACKWARD_REDUCE, LaunchGeometry.perChannelChunks(x.c(), x.hw(), k), new KernelArgs().ptr(x.address()).i64(x.ns())
                .ptr(dy.address()).i64(dy.ns()).i32(x.n()).i32(x.c()).i64(x.hw()).i32(k.samplesPerChunk()).i32(k.count())
                .ptr(mean).ptr(var).ptr(gamma).ptr(beta).f64(eps).bool(relu).ptr(partial));
        module.launch(BACKWARD_FINALIZE, LaunchGeometry.linear(x.c()), new KernelArgs().ptr(partial).i32(x.n()).i32(x.c()).i64(x.hw())
                .i32(k.count()).ptr(mean).ptr(var).ptr(gamma).ptr(beta).f64(eps).ptr(dgamma).ptr(dbeta).ptr(coef));
        module.launch(BACKWARD_DX, rowsGeometry(x), new KernelArgs().ptr(x.address()).i64(x.ns()).ptr(dy.address()).i64(dy.ns())
                .ptr(dx.address()).i64(dx.ns()).i32(x.n()).i32(x.c()).i64(x.hw()).ptr(mean).ptr(coef).bool(relu).bool(accumulateDx));
    }

    /** Rows are (sample, channel) planes of h*w pixels: the elementwise kernels' geometry. */
    public static LaunchGeometry rowsGeometry(DeviceSlice x) {
        return LaunchGeometry.rows((long) x.n() * x.c(), x.hw());
    }

    private static void checkEps(double eps) {
        if (!(eps > 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("batch-norm eps must be a finite number > 0, got " + eps);
    }
}
