package org.densenet.engine;

/**
 * Dynamic loss scaling for FP16 training, torch.amp.GradScaler's rules: the loss gradient is
 * multiplied by the scale before backward, so that small gradients survive FP16's range; a step
 * whose gradients hold an inf or NaN is skipped and the scale multiplied by {@code backoffFactor};
 * after {@code growthInterval} clean steps in a row it is multiplied by {@code growthFactor} (kept
 * only when finite). {@link #DEFAULT} is GradScaler's: 2^16, x2 after 2000 clean steps, x0.5.
 *
 * <p>The scaler's state is a float32 [{@value #STATE_SIZE}] tensor on the backend, so that the
 * scaling, the check and the update all run on the device without the host reading anything, and a
 * captured step replays them: {@link #SCALE}, {@link #CLEAN_STEPS} (exact as a float up to 2^24,
 * hence the bound on the interval), and what the last check found, which the SGD step reads:
 * {@link #FOUND} (1 when the step must be skipped) and {@link #UNSCALE} (1 / the scale the
 * gradients were computed with). {@link #SKIPPED} counts skipped steps, for the run's report.
 */
public record LossScaling(double initialScale, double growthFactor, double backoffFactor, int growthInterval) {
    public static final LossScaling DEFAULT = new LossScaling(65536, 2, 0.5, 2000);

    public static final int SCALE = 0, CLEAN_STEPS = 1, FOUND = 2, UNSCALE = 3, SKIPPED = 4, STATE_SIZE = 5;

    /** Largest growth interval: the clean-step count lives in a float, exact up to 2^24. */
    public static final int MAX_INTERVAL = 1 << 24;

    public LossScaling {
        if (!(initialScale > 0) || (float) initialScale == Float.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("initial loss scale must be a positive float32, got " + initialScale);
        }
        if (!(growthFactor > 1) || Double.isInfinite(growthFactor)) throw new IllegalArgumentException("loss scale growth factor must be > 1, got " + growthFactor);
        if (!(backoffFactor > 0 && backoffFactor < 1)) throw new IllegalArgumentException("loss scale backoff factor must be in (0, 1), got " + backoffFactor);
        if (growthInterval < 1 || growthInterval > MAX_INTERVAL) {
            throw new IllegalArgumentException("loss scale growth interval must be in [1, 2^24] steps, got " + growthInterval);
        }
    }

    /** A fresh scaler's state: the initial scale, no clean steps, nothing found or skipped. */
    public float[] initialState() {
        return state((float) initialScale, 0, 0);
    }

    /** A state with this scale, clean-step count and skipped-step count (a checkpoint's), nothing found yet. */
    public static float[] state(float scale, int cleanSteps, long skipped) {
        float[] s = new float[STATE_SIZE];
        s[SCALE] = scale;
        s[CLEAN_STEPS] = cleanSteps;
        s[FOUND] = 0;
        s[UNSCALE] = 1;
        s[SKIPPED] = skipped;
        return s;
    }

    /**
     * What the device does after its check: records whether an inf or NaN was {@code found} and
     * the unscale factor of this step's gradients, then backs off or counts the step and grows the
     * scale (GradScaler.update). Float32 arithmetic, as the kernel computes it (loss_scale.cu),
     * so the CPU's state equals the GPU's bit for bit.
     */
    public void update(float[] state, int off, boolean found) {
        float scale = state[off + SCALE];
        state[off + FOUND] = found ? 1 : 0;
        state[off + UNSCALE] = 1 / scale;
        if (found) {
            state[off + SCALE] = scale * (float) backoffFactor;
            state[off + CLEAN_STEPS] = 0;
            state[off + SKIPPED] = state[off + SKIPPED] + 1;
            return;
        }
        float clean = state[off + CLEAN_STEPS] + 1;
        if (clean >= growthInterval) {
            float grown = scale * (float) growthFactor;
            if (Float.isFinite(grown)) state[off + SCALE] = grown;
            clean = 0;
        }
        state[off + CLEAN_STEPS] = clean;
    }

    /** Checks a scaler-state operand: float32 [{@value #STATE_SIZE}], contiguous. */
    public static void checkState(String op, Tensor state) {
        if (state == null || state.dtype() != DType.F32 || state.rank() != 1 || state.dim(0) != STATE_SIZE || !state.isContiguous()) {
            throw new IllegalArgumentException(op + ": the loss scaler's state must be a contiguous float32 [" + STATE_SIZE + "], got " + state);
        }
    }
}
