package org.densenet.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import java.util.function.ToDoubleFunction;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;

/** Host-side helpers of the CPU op tests: random data, uploads, channel-slice views, gradient checks. */
final class OpTesting {
    private OpTesting() {
    }

    /** Uniform in [-1, 1): fresh, non-zero-structured inputs. */
    static double[] random(Random rng, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = 2 * rng.nextDouble() - 1;
        return a;
    }

    static double[] positive(Random rng, int n, double lo, double hi) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.nextDouble();
        return a;
    }

    static int size(int... shape) {
        return (int) Tensor.numel(shape);
    }

    static Tensor tensor(Backend b, DType dt, double[] data, int... shape) {
        Tensor t = b.allocate(dt, shape);
        b.upload(data, t);
        return t;
    }

    static double[] values(Backend b, Tensor t) {
        double[] out = new double[(int) t.numel()];
        b.download(t, out);
        return out;
    }

    static void upload(Backend b, Tensor t, double[] data) {
        b.upload(data, t);
    }

    /**
     * Channels [before, before + shape[1]) of a fresh [N, before + C + after, H, W] storage whose
     * every element holds {@code fill}; the storage is t's owner, reachable through {@link #whole}.
     */
    static Tensor slice(Backend b, DType dt, int before, int after, double fill, int... shape) {
        Tensor whole = b.allocate(dt, shape[0], before + shape[1] + after, shape[2], shape[3]);
        b.fill(whole, fill);
        return whole.channels(before, before + shape[1]);
    }

    /** The whole storage of a slice made by {@link #slice}, as a contiguous 1-D view. */
    static Tensor whole(Tensor slice) {
        long n = slice.storage().elements();
        return slice.view(0, new int[] {(int) n}, new long[] {1});
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /**
     * Compares analytic d(loss)/dx with central differences of {@code loss} at x, over at most
     * {@code maxChecks} evenly spread elements. The error is measured relative to the largest
     * gradient entry, so entries near zero do not inflate it.
     */
    static void assertGradient(String what, double[] x, double[] analytic, ToDoubleFunction<double[]> loss, int maxChecks, double tol) {
        double eps = 1e-6;
        double scale = 1e-12;
        for (double g : analytic) scale = Math.max(scale, Math.abs(g));
        int step = Math.max(1, x.length / maxChecks);
        double worst = 0;
        int worstAt = -1;
        double[] xp = x.clone();
        for (int i = 0; i < x.length; i += step) {
            xp[i] = x[i] + eps;
            double up = loss.applyAsDouble(xp);
            xp[i] = x[i] - eps;
            double down = loss.applyAsDouble(xp);
            xp[i] = x[i];
            double numeric = (up - down) / (2 * eps);
            double err = Math.abs(numeric - analytic[i]) / scale;
            if (!(err <= worst)) {
                worst = err;
                worstAt = i;
            }
            if (Double.isNaN(err)) fail(what + ": gradient " + i + " is NaN (analytic " + analytic[i] + ", numeric " + numeric + ")");
        }
        assertTrue(worst <= tol, what + ": relative gradient error " + worst + " at element " + worstAt + " (analytic "
                + (worstAt >= 0 ? analytic[worstAt] : 0) + ", scale " + scale + ")");
    }

    /** Relative agreement max|a - b| / max(max|b|, floor) <= tol. */
    static void assertClose(String what, double[] expected, double[] actual, double tol) {
        if (expected.length != actual.length) fail(what + ": lengths " + expected.length + " and " + actual.length);
        double scale = 1e-30, worst = 0;
        int at = -1;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]);
            if (!(err <= worst)) {
                worst = err;
                at = i;
            }
        }
        assertTrue(worst / scale <= tol, what + ": relative error " + worst / scale + " at " + at + " (expected "
                + (at >= 0 ? expected[at] : 0) + ", got " + (at >= 0 ? actual[at] : 0) + ")");
    }
}
