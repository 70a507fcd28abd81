package org.densenet.engine.cuda.kernels;

import static org.densenet.engine.cuda.kernels.DeviceSlice.requireVectors;

import java.util.Objects;
import org.densenet.engine.Pool2d;

/**
 * Launchers of kernels/src/main/cuda/pool.cu: average pooling (count_include_pad), max pooling
 * (gradient to the first maximum in row-major window order) and global average pooling, between
 * channel slices x [N, C, H, W] and y [N, C, P, Q]; global pooling's y is a contiguous [N, C].
 * Activations are float32 or 16 bits ({@link DeviceSlice#dtype()} picks the kernels); global
 * pooling's y and dy are float32 always.
 */
public final class PoolKernels {
    public static final String AVG_FORWARD = "avgpool_forward_f32";
    public static final String AVG_BACKWARD = "avgpool_backward_f32";
    public static final String MAX_FORWARD = "maxpool_forward_f32";
    public static final String MAX_BACKWARD = "maxpool_backward_f32";
    public static final String GLOBAL_AVG_FORWARD = "global_avgpool_forward_f32";
    public static final String GLOBAL_AVG_BACKWARD = "global_avgpool_backward_f32";

    private final KernelModule module;

    public PoolKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    public void avgForward(DeviceSlice x, DeviceSlice y, Pool2d pool) {
        checkPooled("avgPoolForward", x, y, pool);
        module.launch(y.kernel("avgpool_forward"), LaunchGeometry.rows((long) y.n() * y.c(), y.hw()), window(new KernelArgs().ptr(x.address()).i64(x.ns())
                .ptr(y.address()).i64(y.ns()), x, y, pool));
    }

    /** dx (=|+=) the average-pooling gradient; one thread per input pixel gathers from its windows. */
    public void avgBackward(DeviceSlice dy, DeviceSlice dx, Pool2d pool, boolean accumulate) {
        checkPooled("avgPoolBackward", dx, dy, pool);
        module.launch(dx.kernel("avgpool_backward"), LaunchGeometry.rows((long) dx.n() * dx.c(), dx.hw()), window(new KernelArgs().ptr(dy.address())
                .i64(dy.ns()).ptr(dx.address()).i64(dx.ns()), dx, dy, pool).bool(accumulate));
    }

    public void maxForward(DeviceSlice x, DeviceSlice y, Pool2d pool) {
        checkPooled("maxPoolForward", x, y, pool);
        module.launch(y.kernel("maxpool_forward"), LaunchGeometry.rows((long) y.n() * y.c(), y.hw()), window(new KernelArgs().ptr(x.address()).i64(x.ns())
                .ptr(y.address()).i64(y.ns()), x, y, pool));
    }

    /**
     * dx (=|+=) the max-pooling gradient. The argmax of each window is recomputed from x, so the
     * forward output is not needed.
     */
    public void maxBackward(DeviceSlice x, DeviceSlice dy, DeviceSlice dx, Pool2d pool, boolean accumulate) {
        checkPooled("maxPoolBackward", x, dy, pool);
        DeviceSlice.requireSameKind("maxPoolBackward", x, "x", dx, "dx");
        module.launch(dx.kernel("maxpool_backward"), LaunchGeometry.rows((long) dx.n() * dx.c(), dx.hw()), window(new KernelArgs().ptr(x.address())
                .i64(x.ns()).ptr(dy.address()).i64(dy.ns()).ptr(dx.address()).i64(dx.ns()), x, dy, pool).bool(accumulate));
    }

    /** y [N, C] (contiguous float32 at address y) = mean of x over H, W. */
    public void globalAvgForward(DeviceSlice x, long y) {
        requireVectors(y);
        module.launch(x.kernel("global_avgpool_forward"), LaunchGeometry.warpPerRow((long) x.n() * x.c()),
                new KernelArgs().ptr(x.address()).i64(x.ns()).ptr(y).i32(x.n()).i32(x.c()).i64(x.hw()));
    }

    /** dx (=|+=) dy[n, c] / (H * W), dy a contiguous float32 [N, C] at address dy. */
    public void globalAvgBackward(long dy, DeviceSlice dx, boolean accumulate) {
        requireVectors(dy);
        module.launch(dx.kernel("global_avgpool_backward"), LaunchGeometry.rows((long) dx.n() * dx.c(), dx.hw()),
                new KernelArgs().ptr(dy).ptr(dx.address()).i64(dx.ns()).i32(dx.n()).i32(dx.c()).i64(dx.hw()).bool(accumulate));
    }

    /** The shared tail of the window kernels' parameters: n, c, h, w, p, q, k, stride, pad. */
    private static KernelArgs window(KernelArgs a, DeviceSlice in, DeviceSlice out, Pool2d pool) {
        return a.i32(in.n()).i32(in.c()).i32(in.h()).i32(in.w()).i32(out.h()).i32(out.w()).i32(pool.kernel()).i32(pool.stride()).i32(pool.pad());
    }

    /** in [N, C, H, W] pools to out [N, C, P, Q] with P, Q from the window; planes index in int. */
    static void checkPooled(String op, DeviceSlice in, DeviceSlice out, Pool2d pool) {
        if (in.dtype() != out.dtype()) throw new IllegalArgumentException(op + ": input " + in.shape() + " and output " + out.shape() + " differ in type");
        if (in.n() != out.n() || in.c() != out.c() || out.h() != pool.outSize(in.h()) || out.w() != pool.outSize(in.w())) {
            throw new IllegalArgumentException(op + ": input " + in.shape() + " pooled by " + pool + " gives [" + in.n() + ", " + in.c()
                    + ", " + pool.outSize(in.h()) + ", " + pool.outSize(in.w()) + "], not " + out.shape());
        }
        if (in.hw() > Integer.MAX_VALUE) throw new IllegalArgumentException(op + ": planes of " + in.hw() + " pixels exceed the kernels' 32-bit plane index");
    }
}
