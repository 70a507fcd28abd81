package org.densenet.cli.bench;

import java.util.Arrays;

/**
 * Summary of repeated timings in nanoseconds: median, quartiles and extremes. The spread a table
 * shows is (max - min) / median, so a reader sees the whole range of the repeats, not a kind one.
 */
public record Stats(int count, double median, double q1, double q3, double min, double max) {
    public Stats {
        if (count < 1) throw new IllegalArgumentException("statistics need at least one value");
        if (!(min <= q1 && q1 <= median && median <= q3 && q3 <= max)) {
            throw new IllegalArgumentException("unordered statistics: min " + min + ", q1 " + q1 + ", median " + median + ", q3 " + q3 + ", max " + max);
        }
    }

    public static Stats of(long[] values) {
        if (values.length == 0) throw new IllegalArgumentException("statistics need at least one value");
        double[] v = new double[values.length];
        for (int i = 0; i < v.length; i++) v[i] = values[i];
        Arrays.sort(v);
        return new Stats(v.length, quantile(v, 0.5), quantile(v, 0.25), quantile(v, 0.75), v[0], v[v.length - 1]);
    }

    /** Linear interpolation between order statistics (NumPy's default), over sorted values. */
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
