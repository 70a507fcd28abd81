package org.densenet.engine.cuda.kernels;

import java.util.Objects;
import org.densenet.engine.DType;
import org.densenet.engine.SgdParams;

/**
 * Launchers of kernels/src/main/cuda/sgd.cu: one fused SGD step (torch.optim.SGD semantics, see
 * {@link SgdParams}) over flat float32 params, grads and momentum buffers of equal length. The
 * float4 kernel is used when every buffer it touches is 16-byte aligned. The learning rate is read
 * from device memory when the kernel runs ({@code sgd.lr()} is not used), so that a captured step
 * replays with whatever rate the host wrote there last. With a 16-bit copy of the parameters (the
 * weights the convolutions read in BF16 or FP16 training), the step also writes every updated
 * parameter, rounded once, into that copy in the same pass.
 */
public final class SgdKernels {
    public static final String STEP = "sgd_step_f32";
    public static final String STEP_VEC4 = "sgd_step_vec4_f32";

    private final KernelModule module;

    public SgdKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    /** momentumBuffer may be 0 when sgd.momentum() == 0 (it is then never touched); lr is the device address of one float. */
    public void step(long params, long grads, long momentumBuffer, long count, SgdParams sgd, long lr) {
        step(params, grads, momentumBuffer, count, sgd, lr, 0);
    }

    /**
     * A loss-scaled step when {@code scaler} is not 0: the device address of the loss scaler's state
     * (LossScaling), whose check decides on the device whether the step runs and by what its
     * gradients are unscaled.
     */
    public void step(long params, long grads, long momentumBuffer, long count, SgdParams sgd, long lr, long scaler) {
        step(params, grads, momentumBuffer, count, sgd, lr, scaler, 0, DType.F32);
    }

    /**
     * As {@link #step(long, long, long, long, SgdParams, long, long)}, also writing the updated
     * parameters, rounded to {@code copyType} (BF16 or F16), into the {@code count} elements at
     * {@code copy16}; with copy16 == 0 (copyType F32) there is no copy and the float32 kernels run.
     */
    public void step(long params, long grads, long momentumBuffer, long count, SgdParams sgd, long lr, long scaler, long copy16,
                     DType copyType) {
        if (count < 1) throw new IllegalArgumentException("SGD over " + count + " parameters");
        boolean momentum = sgd.momentum() != 0;
        DeviceSlice.requireVectors(params, grads, lr);
        if (momentum) DeviceSlice.requireVectors(momentumBuffer);
        if (scaler != 0) DeviceSlice.requireVectors(scaler);
        boolean copy = copy16 != 0;
        if (copy != copyType.isSixteenBit()) {
            throw new IllegalArgumentException("SGD: a 16-bit copy needs its address and a 16-bit type, got 0x" + Long.toHexString(copy16)
                    + " and " + copyType);
        }
        if (copy && (copy16 & 1) != 0) throw new IllegalArgumentException("SGD: the 16-bit copy at 0x" + Long.toHexString(copy16) + " is not 2-byte aligned");
        boolean vec4 = vectorizable(params, grads, momentumBuffer, momentum) && (!copy || (copy16 & 7) == 0);
        KernelArgs args = new KernelArgs().ptr(params).ptr(grads).ptr(momentumBuffer).i64(count)
                .ptr(lr).f32((float) sgd.momentum()).f32((float) sgd.weightDecay()).bool(sgd.nesterov()).ptr(scaler);
        String kernel = vec4 ? STEP_VEC4 : STEP;
        if (copy) {
            kernel = (vec4 ? "sgd_step_vec4_" : "sgd_step_") + DeviceSlice.suffix(copyType);
            args.ptr(copy16);
        }
        module.launch(kernel, geometry(count, vec4), args);
    }

    /** Whether the float4 kernel may run: params, grads (and the buffer, when used) 16-byte aligned; a 16-bit copy must be 8-byte aligned besides. */
    public static boolean vectorizable(long params, long grads, long momentumBuffer, boolean momentum) {
        return (params & 15) == 0 && (grads & 15) == 0 && (!momentum || (momentumBuffer & 15) == 0);
    }

    /** One thread per element, or per float4 (the count % 4 tail is taken by the grid's first threads). */
    public static LaunchGeometry geometry(long count, boolean vec4) {
        return LaunchGeometry.linear(vec4 ? Math.max(1, count / 4) : count);
    }
}
