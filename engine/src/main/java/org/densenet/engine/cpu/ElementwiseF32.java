package org.densenet.engine.cpu;

import org.densenet.engine.CounterRng;
import org.densenet.engine.SgdParams;

/**
 * Elementwise ops on one contiguous run of {@code len} elements per operand; the backend cuts
 * tensors into such runs (per sample for channel slices) and spreads them over threads.
 */
final class ElementwiseF32 {
    private ElementwiseF32() {
    }

    static void copy(float[] src, int so, float[] dst, int dOff, int len, boolean accumulate) {
        if (!accumulate) {
            System.arraycopy(src, so, dst, dOff, len);
            return;
        }
        for (int i = 0; i < len; i++) dst[dOff + i] += src[so + i];
    }

    static void relu(float[] x, int xo, float[] y, int yo, int len) {
        for (int i = 0; i < len; i++) y[yo + i] = Math.max(x[xo + i], 0);
    }

    static void reluBackward(float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo, int len, boolean accumulate) {
        for (int i = 0; i < len; i++) {
            float g = y[yo + i] > 0 ? dy[dyo + i] : 0;
            dx[dxo + i] = accumulate ? dx[dxo + i] + g : g;
        }
    }

    /** mask = uniform(seed, index) < p ? 0 : 1 / (1 - p), y = x * mask; index counts from {@code first}. */
    static void dropoutForward(float[] x, int xo, float[] y, int yo, float[] mask, int mo, int len, long first, double p, long seed) {
        float keep = (float) (1 / (1 - p));
        for (int i = 0; i < len; i++) {
            float m = CounterRng.uniform(seed, first + i) < p ? 0 : keep;
            mask[mo + i] = m;
            y[yo + i] = x[xo + i] * m;
        }
    }

    static void multiply(float[] a, int ao, float[] b, int bo, float[] out, int oo, int len, boolean accumulate) {
        for (int i = 0; i < len; i++) {
            float v = a[ao + i] * b[bo + i];
            out[oo + i] = accumulate ? out[oo + i] + v : v;
        }
    }

    /**
     * torch.optim.SGD with dampening 0 in the tensor's precision, each gradient first multiplied by
     * {@code unscale} (1 unless the loss was scaled; a product with 1 is exact):
     * g = g * unscale + wd * p; buf = momentum * buf + g; g = nesterov ? g + momentum * buf : buf; p -= lr * g.
     */
    static void sgd(float[] p, int po, float[] g, int go, float[] buf, int bo, int len, SgdParams sgd, float unscale) {
        float lr = (float) sgd.lr(), mom = (float) sgd.momentum(), wd = (float) sgd.weightDecay();
        boolean nesterov = sgd.nesterov();
        for (int i = 0; i < len; i++) {
            float d = g[go + i] * unscale + wd * p[po + i];
            float b = mom * buf[bo + i] + d;
            buf[bo + i] = b;
            p[po + i] -= lr * (nesterov ? d + mom * b : b);
        }
    }

    /** a *= factor. */
    static void scale(float[] a, int off, int len, float factor) {
        for (int i = off; i < off + len; i++) a[i] *= factor;
    }

    /** Whether every value is finite (no inf, no NaN: a NaN fails the comparison). */
    static boolean finite(float[] a, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (!(Math.abs(a[i]) <= Float.MAX_VALUE)) return false;
        }
        return true;
    }
}
