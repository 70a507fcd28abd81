package org.densenet.engine.cuda.kernels;

import static org.densenet.engine.cuda.kernels.DeviceSlice.requireSameShape;
import static org.densenet.engine.cuda.kernels.DeviceSlice.requireVectors;

import java.util.Objects;

/**
 * Launchers of kernels/src/main/cuda/bn_relu.cu: batch-norm apply (optionally + ReLU) from a
 * channel slice to a channel slice, and its training-mode backward with the ReLU mask recomputed
 * from x, both computed as the CPU backend computes them. mean, var, gamma, beta, dgamma, dbeta are
 * contiguous float32 [C] device buffers, C = x.c().
 */
public final class BnReluKernels {
    public static final String APPLY = "bn_apply_f32";
    public static final String BACKWARD = "bn_backward_f32";

    private final KernelModule module;

    public BnReluKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    /** y = relu?(gamma * (x - mean) / sqrt(var + eps) + beta). */
    public void apply(DeviceSlice x, long mean, long var, long gamma, long beta, double eps, boolean relu, DeviceSlice y) {
        requireSameShape("batchNormApply", x, "x", y, "y");
        requireVectors(mean, var, gamma, beta);
        checkEps(eps);
        module.launch(APPLY, applyGeometry(x), new KernelArgs().ptr(x.address()).i64(x.ns()).ptr(y.address()).i64(y.ns())
                .i32(x.n()).i32(x.c()).i64(x.hw()).ptr(mean).ptr(var).ptr(gamma).ptr(beta).f64(eps).bool(relu));
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
        module.launch(BACKWARD, LaunchGeometry.perChannel(x.c(), x.hw()), new KernelArgs().ptr(x.address()).i64(x.ns())
                .ptr(dy.address()).i64(dy.ns()).ptr(dx.address()).i64(dx.ns()).i32(x.n()).i32(x.c()).i64(x.hw())
                .ptr(mean).ptr(var).ptr(gamma).ptr(beta).f64(eps).bool(relu).bool(accumulateDx).ptr(dgamma).ptr(dbeta));
    }

    /** Rows are (sample, channel) planes of h*w pixels. */
    public static LaunchGeometry applyGeometry(DeviceSlice x) {
        return LaunchGeometry.rows((long) x.n() * x.c(), x.hw());
    }

    private static void checkEps(double eps) {
        if (!(eps > 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("batch-norm eps must be a finite number > 0, got " + eps);
    }
}
