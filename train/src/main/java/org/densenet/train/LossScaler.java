package org.densenet.train;

import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.LossScaling;
import org.densenet.engine.Precision;
import org.densenet.engine.Tensor;

/**
 * FP16's dynamic loss scaling in a training step, as torch.amp.GradScaler does it
 * ({@link LossScaling#DEFAULT}): the loss gradient is scaled before backward, one fused check over
 * the flat gradient buffer updates the scale after it, and the SGD step skips or unscales. The
 * state lives on the backend ({@link #state()}), so a step queues all of it without waiting for the
 * device, and a captured step replays it. BF16 has float32's range and needs no scaler.
 */
public final class LossScaler implements AutoCloseable {
    private final Backend backend;
    private final LossScaling rule;
    private final Tensor state;

    /** A scaler with GradScaler's defaults where {@code precision} needs one (fp16), else null. */
    public static LossScaler forPrecision(Backend backend, Precision precision) {
        return forPrecision(backend, precision, LossScaling.DEFAULT);
    }

    static LossScaler forPrecision(Backend backend, Precision precision, LossScaling rule) {
        return precision == Precision.FP16 ? new LossScaler(backend, rule) : null;
    }

    /** Package-private so tests can grow the scale after a few steps instead of 2000. */
    LossScaler(Backend backend, LossScaling rule) {
        this.backend = backend;
        this.rule = rule;
        this.state = backend.allocate(DType.F32, LossScaling.STATE_SIZE);
        try {
            backend.upload(rule.initialState(), state);
        } catch (RuntimeException e) {
            state.close();
            throw e;
        }
    }

    /** The scaler's device state, for {@link Backend#sgdStep(Tensor, Tensor, Tensor, org.densenet.engine.SgdParams, Tensor, Tensor)}. */
    public Tensor state() {
        return state;
    }

    /** Before backward: the loss gradient times the scale. */
    public void scaleLossGradient(Tensor dlogits) {
        backend.scaleLossGradient(dlogits, state);
    }

    /** After backward: the gradients checked for an inf or NaN, and the scale updated. */
    public void checkGradients(Tensor grads) {
        backend.checkGradientsAndUpdateScale(grads, state, rule);
    }

    /** The state as a checkpoint keeps it (waits for the device). */
    public Saved read() {
        float[] s = new float[LossScaling.STATE_SIZE];
        backend.download(state, s);
        return new Saved(s[LossScaling.SCALE], (int) s[LossScaling.CLEAN_STEPS], (long) s[LossScaling.SKIPPED]);
    }

    /** Continues from a checkpoint's state. */
    public void restore(Saved saved) {
        backend.upload(LossScaling.state(saved.scale(), saved.cleanSteps(), saved.skippedSteps()), state);
    }

    @Override
    public void close() {
        state.close();
    }

    /**
     * What a checkpoint keeps of a scaler: the scale, the clean steps since it last changed, and the
     * steps skipped so far. The scale is written as the decimal of its float32, which reads back exactly.
     */
    public record Saved(float scale, int cleanSteps, long skippedSteps) {
        private static final String SCALE = "scaler.scale", CLEAN = "scaler.clean_steps", SKIPPED = "scaler.skipped_steps";

        public Saved {
            if (!(scale > 0) || Float.isInfinite(scale)) throw new IllegalArgumentException("loss scale must be a positive float32, got " + scale);
            if (cleanSteps < 0 || skippedSteps < 0) {
                throw new IllegalArgumentException("loss scaler counts must be >= 0, got " + cleanSteps + " clean and " + skippedSteps + " skipped steps");
            }
        }

        public Map<String, String> toMap() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put(SCALE, Float.toString(scale));
            m.put(CLEAN, Integer.toString(cleanSteps));
            m.put(SKIPPED, Long.toString(skippedSteps));
            return m;
        }

        /** The saved state, or null for a checkpoint without one (an older one, or a run that needed no scaling). */
        public static Saved fromMap(Map<String, String> m) {
            if (!m.containsKey(SCALE)) return null;
            TrainConfig.Fields f = new TrainConfig.Fields(m);
            float scale;
            try {
                scale = Float.parseFloat(f.text(SCALE));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("checkpoint entry '" + SCALE + "' is not a number: " + m.get(SCALE));
            }
            return new Saved(scale, f.integer(CLEAN), f.longValue(SKIPPED));
        }

        /** For the run's log: "loss scale 32768, 3 steps skipped". */
        public String describe() {
            return String.format(Locale.ROOT, "loss scale %s, %d step%s skipped", new BigDecimal(scale).stripTrailingZeros().toPlainString(),
                    skippedSteps, skippedSteps == 1 ? "" : "s");
        }
    }
}
