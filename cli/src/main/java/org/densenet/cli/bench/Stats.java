package org.densenet.cli.bench;

import java.util.Arrays;

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
}
