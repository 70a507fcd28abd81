package org.densenet.train;

import java.util.Arrays;
import java.util.Locale;

/**
 * Learning rate as a pure function of (epoch, step within epoch), so a resumed run picks up the
 * exact rate. {@code STEP}: the base rate times gamma for every milestone epoch reached (the paper's
 * recipe). {@code COSINE}: half a cosine from the base rate down to 0 over the run, per step. Both
 * may start with a linear warm-up over {@code warmupEpochs}, per step.
 */
public record LrSchedule(Kind kind, double baseLr, int epochs, int[] milestones, double gamma, double warmupEpochs) {
    public enum Kind {
        STEP, COSINE;

        public static Kind parse(String s) {
            for (Kind k : values()) if (k.name().equalsIgnoreCase(s.strip())) return k;
            throw new IllegalArgumentException("unknown schedule '" + s + "': use step or cosine");
        }

        public String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public LrSchedule {
        if (!(baseLr > 0) || Double.isInfinite(baseLr)) throw new IllegalArgumentException("learning rate must be > 0, got " + baseLr);
        if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        milestones = milestones.clone();
        for (int i = 0; i < milestones.length; i++) {
            if (milestones[i] < 1 || (i > 0 && milestones[i] <= milestones[i - 1])) {
                throw new IllegalArgumentException("milestones must be increasing epochs >= 1, got " + Arrays.toString(milestones));
            }
        }
        if (!(gamma > 0 && gamma <= 1)) throw new IllegalArgumentException("learning-rate decay factor must be in (0, 1], got " + gamma);
        if (!(warmupEpochs >= 0 && warmupEpochs < epochs)) {
            throw new IllegalArgumentException("warm-up must be >= 0 and shorter than the run (" + epochs + " epochs), got " + warmupEpochs);
        }
    }

    /** The paper's step schedule: divide by 10 at the given fractions of the run (rounded to whole epochs). */
    public static LrSchedule step(double baseLr, int epochs, double[] fractions, double warmupEpochs) {
        int[] m = new int[fractions.length];
        int n = 0;
        for (double f : fractions) {
            int e = (int) Math.round(f * epochs);
            if (e >= 1 && e < epochs && (n == 0 || e > m[n - 1])) m[n++] = e;
        }
        return new LrSchedule(Kind.STEP, baseLr, epochs, Arrays.copyOf(m, n), 0.1, warmupEpochs);
    }

    public static LrSchedule cosine(double baseLr, int epochs, double warmupEpochs) {
        return new LrSchedule(Kind.COSINE, baseLr, epochs, new int[0], 0.1, warmupEpochs);
    }

    @Override
    public int[] milestones() {
        return milestones.clone();
    }

    /** Rate for step {@code step} (0-based) of epoch {@code epoch} (0-based), with {@code stepsPerEpoch} steps an epoch. */
    public double lr(int epoch, int step, int stepsPerEpoch) {
        long t = (long) epoch * stepsPerEpoch + step;
        long warm = Math.round(warmupEpochs * stepsPerEpoch);
        if (t < warm) return baseLr * (t + 1) / warm;
        return switch (kind) {
            case STEP -> {
                double lr = baseLr;
                for (int m : milestones) if (epoch >= m) lr *= gamma;
                yield lr;
            }
            case COSINE -> {
                long total = (long) epochs * stepsPerEpoch;
                double p = (double) (t - warm) / Math.max(1, total - warm);
                yield 0.5 * baseLr * (1 + Math.cos(Math.PI * Math.min(1.0, p)));
            }
        };
    }

    @Override
    public String toString() {
        String w = warmupEpochs > 0 ? ", warm-up " + warmupEpochs + " epochs" : "";
        return kind == Kind.STEP
                ? "step: lr " + baseLr + " x" + gamma + " at epochs " + Arrays.toString(milestones) + w
                : "cosine: lr " + baseLr + " to 0 over " + epochs + " epochs" + w;
    }
}
