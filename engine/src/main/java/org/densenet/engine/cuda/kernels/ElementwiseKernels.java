package org.densenet.engine.cuda.kernels;

import static org.densenet.engine.cuda.kernels.DeviceSlice.requireFloat32;
import static org.densenet.engine.cuda.kernels.DeviceSlice.requireSameKind;
import static org.densenet.engine.cuda.kernels.DeviceSlice.requireSameShape;

import java.util.Objects;
import org.densenet.engine.DType;

/**
 * Launchers of kernels/src/main/cuda/elementwise.cu: fill, copy/accumulate, ReLU and its backward,
 * dropout forward/backward. Each sample of a slice is one contiguous row of c*h*w elements, so the
 * launches use {@link LaunchGeometry#rows} over (n, c*h*w) and any batch strides. Each kernel comes
 * in the slices' storage type (float32 or 16 bits, {@link DeviceSlice#dtype()}); the named constants
 * are the float32 kernels. Copies also convert between float32 and a 16-bit type; dropout masks are
 * float32 in every precision.
 */
public final class ElementwiseKernels {
    public static final String FILL = "fill_f32";
    public static final String COPY = "copy_f32";
    public static final String RELU = "relu_f32";
    public static final String RELU_BACKWARD = "relu_backward_f32";
    public static final String DROPOUT_FORWARD = "dropout_forward_f32";
    public static final String DROPOUT_BACKWARD = "dropout_backward_f32";
    private static final String COPY_BASE = "copy";

    private final KernelModule module;

    public ElementwiseKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    /** dst = value. */
    public void fill(DeviceSlice dst, float value) {
        module.launch(dst.kernel("fill"), geometry(dst), new KernelArgs().ptr(dst.address()).i64(dst.ns()).i32(dst.n()).i64(dst.sampleLength()).f32(value));
    }

    /** dst = src, or dst += src when accumulate; same shape, any batch strides. */
    public void copy(DeviceSlice src, DeviceSlice dst, boolean accumulate) {
        requireSameShape("copy", src, "src", dst, "dst");
        module.launch(copyKernel(src.dtype(), dst.dtype()), geometry(dst), new KernelArgs().ptr(src.address()).i64(src.ns()).ptr(dst.address()).i64(dst.ns())
                .i32(dst.n()).i64(dst.sampleLength()).bool(accumulate));
    }

    /** y = max(x, 0); x and y may be the same slice. */
    public void relu(DeviceSlice x, DeviceSlice y) {
        requireSameKind("relu", x, "x", y, "y");
        module.launch(y.kernel("relu"), geometry(y), new KernelArgs().ptr(x.address()).i64(x.ns()).ptr(y.address()).i64(y.ns())
                .i32(y.n()).i64(y.sampleLength()));
    }

    /** dx = y > 0 ? dy : 0 (or +=), y being the forward output. */
    public void reluBackward(DeviceSlice y, DeviceSlice dy, DeviceSlice dx, boolean accumulate) {
        requireSameKind("reluBackward", y, "y", dy, "dy");
        requireSameKind("reluBackward", y, "y", dx, "dx");
        module.launch(dx.kernel("relu_backward"), geometry(dx), new KernelArgs().ptr(y.address()).i64(y.ns()).ptr(dy.address()).i64(dy.ns())
                .ptr(dx.address()).i64(dx.ns()).i32(dx.n()).i64(dx.sampleLength()).bool(accumulate));
    }

    /**
     * mask[i] = CounterRng.uniform(seed, i) < p ? 0 : {@link #dropoutScale}(p), y = x * mask, i the
     * dense row-major index of the element in x's shape.
     */
    public void dropoutForward(DeviceSlice x, DeviceSlice y, DeviceSlice mask, double p, long seed) {
        module.launch(y.kernel("dropout_forward"), geometry(y), dropoutArgs(x, y, mask, p).i64(seed));
    }

    /** {@link #dropoutForward(DeviceSlice, DeviceSlice, DeviceSlice, double, long)} with the 64-bit seed read at device address {@code seed} when the kernel runs. */
    public void dropoutForwardSeeded(DeviceSlice x, DeviceSlice y, DeviceSlice mask, double p, long seed) {
        if (seed == 0 || seed % 8 != 0) throw new IllegalArgumentException("dropout seed address must be 8-byte aligned, got 0x" + Long.toHexString(seed));
        module.launch(y.kernel("dropout_forward_seeded"), geometry(y), dropoutArgs(x, y, mask, p).ptr(seed));
    }

    private static KernelArgs dropoutArgs(DeviceSlice x, DeviceSlice y, DeviceSlice mask, double p) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        requireSameKind("dropoutForward", x, "x", y, "y");
        requireSameShape("dropoutForward", x, "x", mask, "mask");
        requireFloat32("dropoutForward", mask, "mask");
        return new KernelArgs().ptr(x.address()).i64(x.ns()).ptr(y.address()).i64(y.ns())
                .ptr(mask.address()).i64(mask.ns()).i32(y.n()).i64(y.sampleLength()).f64(p).f32(dropoutScale(p));
    }

    /** dx = dy * mask (or +=). */
    public void dropoutBackward(DeviceSlice dy, DeviceSlice mask, DeviceSlice dx, boolean accumulate) {
        requireSameShape("dropoutBackward", dy, "dy", mask, "mask");
        requireFloat32("dropoutBackward", mask, "mask");
        requireSameKind("dropoutBackward", dy, "dy", dx, "dx");
        module.launch(dx.kernel("dropout_backward"), geometry(dx), new KernelArgs().ptr(dy.address()).i64(dy.ns()).ptr(mask.address()).i64(mask.ns())
                .ptr(dx.address()).i64(dx.ns()).i32(dx.n()).i64(dx.sampleLength()).bool(accumulate));
    }

    /**
     * The copy kernel from one storage type to another: "copy_f32" within a type, "copy_f32_bf16" and
     * the like from float32 to 16 bits and back (each value rounded once to nearest even, or widened
     * exactly). Between the two 16-bit types there is none.
     */
    public static String copyKernel(DType src, DType dst) {
        if (src == dst) return COPY_BASE + "_" + DeviceSlice.suffix(src);
        if (src != DType.F32 && dst != DType.F32) throw new IllegalArgumentException("copy: no conversion from " + src + " to " + dst);
        return COPY_BASE + "_" + DeviceSlice.suffix(src) + "_" + DeviceSlice.suffix(dst);
    }

    /** The value a kept element's mask holds: 1 / (1 - p) computed in double, rounded once to float. */
    public static float dropoutScale(double p) {
        return (float) (1.0 / (1.0 - p));
    }

    /** Rows are samples, each c*h*w contiguous elements. */
    public static LaunchGeometry geometry(DeviceSlice s) {
        return LaunchGeometry.rows(s.n(), s.sampleLength());
    }
}
