package org.densenet.engine.cuda.kernels;

import java.util.Objects;
import org.densenet.engine.LossScaling;

/**
 * Launchers of kernels/src/main/cuda/loss_scale.cu: dynamic loss scaling with the scaler's state
 * ({@link LossScaling}, a float32 [{@value LossScaling#STATE_SIZE}]) in device memory. The check over
 * the flat gradient buffer is one grid-stride pass whose blocks each write one flag into the module's
 * scratch; a single block then ORs the flags and updates the state.
 */
public final class LossScaleKernels {
    public static final String SCALE = "loss_scale_f32";
    public static final String NONFINITE = "grads_nonfinite_f32";
    public static final String UPDATE = "loss_scale_update_f32";
    /** Most blocks of the check: enough threads to fill any current GPU, few enough flags for one block to OR. */
    public static final int CHECK_BLOCKS = 1024;

    private final KernelModule module;

    public LossScaleKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    /** x[0 .. count) *= state[SCALE]. */
    public void scale(long x, long count, long state) {
        if (count < 1) throw new IllegalArgumentException("loss scaling of " + count + " values");
        DeviceSlice.requireVectors(x, state);
        module.launch(SCALE, LaunchGeometry.linear(count), new KernelArgs().ptr(x).i64(count).ptr(state));
    }

    /** Whether grads[0 .. count) holds an inf or NaN, then the state's update by {@code rule}. */
    public void checkAndUpdate(long grads, long count, long state, LossScaling rule) {
        if (count < 1) throw new IllegalArgumentException("a gradient check over " + count + " values");
        DeviceSlice.requireVectors(grads, state);
        LaunchGeometry check = checkGeometry(count);
        long partial = module.scratch(4L * check.gridX());
        module.launch(NONFINITE, check, new KernelArgs().ptr(grads).i64(count).ptr(partial));
        module.launch(UPDATE, LaunchGeometry.singleBlock(LaunchGeometry.THREADS), new KernelArgs().ptr(partial).i32(check.gridX()).ptr(state)
                .f32((float) rule.growthFactor()).f32((float) rule.backoffFactor()).i32(rule.growthInterval()));
    }

    /** One thread per gradient up to {@link #CHECK_BLOCKS} blocks, grid-stride beyond. */
    public static LaunchGeometry checkGeometry(long count) {
        return LaunchGeometry.linear(Math.min(count, (long) CHECK_BLOCKS * LaunchGeometry.THREADS));
    }
}
