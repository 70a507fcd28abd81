package org.densenet.cli.bench;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.LongSupplier;
import org.densenet.engine.Backend;
import org.densenet.engine.OpTimer;

/**
 * Summary of repeated timings in nanoseconds: median, 10th and 90th percentiles and extremes (the
 * columns of scripts/bench/pytorch_step.py). The spread a table shows is (max - min) / median, so
 * a reader sees the whole range of the repeats, not a kind one.
 */
public record Stats(int count, double median, double p10, double p90, double min, double max) {
    public Stats {
        if (count < 1) throw new IllegalArgumentException("statistics need at least one value");
        if (!(min <= p10 && p10 <= median && median <= p90 && p90 <= max)) {
            throw new IllegalArgumentException("unordered statistics: min " + min + ", p10 " + p10 + ", median " + median + ", p90 " + p90 + ", max " + max);
        }
    }

    public static Stats of(long[] values) {
        if (values.length == 0) throw new IllegalArgumentException("statistics need at least one value");
        double[] v = new double[values.length];
        for (int i = 0; i < v.length; i++) v[i] = values[i];
        Arrays.sort(v);
        return new Stats(v.length, quantile(v, 0.5), quantile(v, 0.10), quantile(v, 0.90), v[0], v[v.length - 1]);
    }

    /** The device's time of each repeat and the host's: how long the calls took to issue, less any wait for the device. */
    public record Timed(Stats device, Stats host) {
    }

    /**
     * As {@link #timed}, also measuring each repeat's host time: the wall time of {@code op} less
     * the growth of {@code waitedNanos} within it (a backend's {@link Backend#waitedNanos()}, the
     * time it spent blocked waiting for the device). On a GPU, a host time close to the device
     * time means the host, not the GPU, sets the pace; on the CPU the two are the same work.
     */
    public static Timed timedWithHost(OpTimer timer, LongSupplier waitedNanos, int warmup, int repeats, Runnable op) {
        if (warmup < 0 || repeats < 1) throw new IllegalArgumentException("need warm-up >= 0 and repeats >= 1, got " + warmup + " and " + repeats);
        for (int i = 0; i < warmup; i++) op.run();
        long[] ns = new long[repeats], host = new long[repeats];
        for (int i = 0; i < repeats; i++) {
            timer.start();
            long waited = waitedNanos.getAsLong(), t0 = System.nanoTime();
            op.run();
            host[i] = Math.max(0, System.nanoTime() - t0 - (waitedNanos.getAsLong() - waited));
            timer.stop();
            ns[i] = timer.elapsedNanos();
        }
        return new Timed(of(ns), of(host));
    }

    /** Runs {@code op} {@code warmup} times untimed, then {@code repeats} times, each timed alone with {@code timer}. */
    public static Stats timed(OpTimer timer, int warmup, int repeats, Runnable op) {
        return timedWithHost(timer, () -> 0, warmup, repeats, op).device();
    }

    /** Linear interpolation between order statistics (NumPy's default and the peer script's), over sorted values. */
    static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /** (max - min) / median, or 0 when the median is 0. */
    public double spread() {
        return median > 0 ? (max - min) / median : 0;
    }

    public double medianMillis() {
        return median / 1e6;
    }

    /** "12.345 ms median (spread 3%, min 12.100, max 12.470)". */
    public String describeMillis() {
        return String.format(Locale.ROOT, "%.3f ms median (spread %.0f%%, min %.3f, max %.3f)", median / 1e6, 100 * spread(), min / 1e6, max / 1e6);
    }
}
