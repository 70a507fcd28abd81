package org.densenet.engine.cpu;

/**
 * Batch normalisation over (N, H, W) per channel in the channel-slice layout: channel c of
 * sample n is the plane of hw elements at xo + n * xN + c * hw. Reductions run per channel,
 * over samples in order and in double, so they do not depend on the thread count.
 */
final class NormF32 {
    private NormF32() {
    }

    private static final int ROW_SLOT = 0;
    private static final int ROWS_SLOT = 2;
    private static final int SUM_SLOT = 1;
    private static final int SUM2_SLOT = 2;
    /**
     * Most elements per channel whose x and gradient the backward keeps between its passes
     * (2 x 16 MB per thread); larger channels are read again. Tests lower it to cover both paths.
     */
    static long keepLimit = 1 << 22;

    /**
     * mean[c], biased var[c] of x [n, c, hw], two passes per channel. Each pass sums the samples
     * elementwise into a double row (a loop C2 vectorises) and then adds the row up, both in a
     * fixed order.
     */
    static void statistics(Parallel par, Scratch scratch, int n, int c, int hw, float[] x, int xo, int xN,
                           float[] mean, int mo, float[] var, int vo) {
        double count = (double) n * hw;
        par.run(c, (ch, wk) -> {
            double[] row = scratch.bufF64(wk, ROW_SLOT, hw);
            java.util.Arrays.fill(row, 0, hw, 0);
            for (int i = 0; i < n; i++) {
                int xp = xo + i * xN + ch * hw;
                for (int j = 0; j < hw; j++) row[j] += x[xp + j];
            }
            double mu = sum(row, 0, hw) / count;
            float muF = (float) mu;
            java.util.Arrays.fill(row, 0, hw, 0);
            for (int i = 0; i < n; i++) {
                int xp = xo + i * xN + ch * hw;
                for (int j = 0; j < hw; j++) {
                    float d = x[xp + j] - muF;
                    row[j] += d * d;
                }
            }
            // the deviations were taken from muF; correct to the exact mean
            double shift = mu - muF;
            mean[mo + ch] = muF;
            var[vo + ch] = (float) Math.max(sum(row, 0, hw) / count - shift * shift, 0);
        });
    }

    static void updateRunning(int c, float[] mean, int mo, float[] var, int vo, long count, double momentum,
                              float[] rmean, int rmo, float[] rvar, int rvo) {
        double unbias = count > 1 ? (double) count / (count - 1) : 1.0;
        for (int ch = 0; ch < c; ch++) {
            rmean[rmo + ch] = (float) ((1 - momentum) * rmean[rmo + ch] + momentum * mean[mo + ch]);
            rvar[rvo + ch] = (float) ((1 - momentum) * rvar[rvo + ch] + momentum * var[vo + ch] * unbias);
        }
    }

    /** Per-channel scale gamma / sqrt(var + eps) and shift beta - mean * scale, in double. */
    static void scaleShift(int c, float[] mean, int mo, float[] var, int vo, float[] gamma, int go, float[] beta, int bo, double eps,
                           double[] scale, double[] shift) {
        for (int ch = 0; ch < c; ch++) {
            double sc = gamma[go + ch] / Math.sqrt(var[vo + ch] + eps);
            scale[ch] = sc;
            shift[ch] = beta[bo + ch] - mean[mo + ch] * sc;
        }
    }

    /**
     * y = x * scale + shift per channel, then max(., 0) when relu. y may alias x. Each plane is
     * copied into y first and then transformed in place: C2 vectorises a loop that loads and
     * stores one array at the same index, but not one that reads one float array and writes
     * another at an unrelated offset (they might overlap).
     */
    static void apply(Parallel par, int n, int c, int hw, float[] x, int xo, int xN, double[] scale, double[] shift,
                      boolean relu, float[] y, int yo, int yN) {
        par.run(n, (i, wk) -> {
            for (int ch = 0; ch < c; ch++) {
                int yp = yo + i * yN + ch * hw;
                System.arraycopy(x, xo + i * xN + ch * hw, y, yp, hw);
                float sc = (float) scale[ch], sh = (float) shift[ch];
                if (relu) {
                    for (int j = yp; j < yp + hw; j++) y[j] = Math.max(y[j] * sc + sh, 0);
                } else {
                    for (int j = yp; j < yp + hw; j++) y[j] = y[j] * sc + sh;
                }
            }
        });
    }

    /**
     * Training-mode backward. With g = dy masked by (x * scale + shift > 0) when relu:
     * dbeta = sum g, dgamma = sum g * xhat, dx = scale * (g - mean(g) - xhat * mean(g * xhat)).
     * Planes are copied into separate row arrays and combined at equal indices (see apply).
     */
    static void backward(Parallel par, Scratch scratch, int n, int c, int hw, float[] x, int xo, int xN, float[] dy, int dyo, int dyN,
                         float[] mean, int mo, float[] var, int vo, double eps, double[] scale, double[] shift, boolean relu,
                         float[] dx, int dxo, int dxN, boolean accumulate, float[] dgamma, int dgo, float[] dbeta, int dbo) {
        double count = (double) n * hw;
        // the channel's x and masked gradient are kept for the second pass when they fit, so it
        // reads them from cache instead of reading x and dy from memory again
        boolean keep = (long) n * hw <= keepLimit;
        par.run(c, (ch, wk) -> {
            float sc = (float) scale[ch], sh = (float) shift[ch], mu = mean[mo + ch];
            float[][] rows = scratch.rowsF32(wk, ROWS_SLOT, keep ? 2 * n + 1 : 3, hw);
            float[] out = rows[keep ? 2 * n : 2];
            double[] sumG = scratch.bufF64(wk, SUM_SLOT, hw), sumGX = scratch.bufF64(wk, SUM2_SLOT, hw);
            java.util.Arrays.fill(sumG, 0, hw, 0);
            java.util.Arrays.fill(sumGX, 0, hw, 0);
            for (int i = 0; i < n; i++) {
                float[] xr = rows[keep ? 2 * i : 0], g = rows[keep ? 2 * i + 1 : 1];
                maskedGradient(x, xo + i * xN + ch * hw, dy, dyo + i * dyN + ch * hw, hw, sc, sh, relu, xr, g);
                for (int j = 0; j < hw; j++) {
                    sumG[j] += g[j];
                    sumGX[j] += g[j] * (xr[j] - mu);
                }
            }
            double sg = sum(sumG, 0, hw), sgx = sum(sumGX, 0, hw);
            double invstd = 1 / Math.sqrt(var[vo + ch] + eps);
            dbeta[dbo + ch] = (float) sg;
            dgamma[dgo + ch] = (float) (sgx * invstd);
            // dx = a * g + b * (x - mean) + d, with the per-channel constants folded in double
            float a = sc, b = (float) (-scale[ch] * invstd * invstd * sgx / count), d = (float) (-scale[ch] * sg / count);
            for (int i = 0; i < n; i++) {
                int op = dxo + i * dxN + ch * hw;
                float[] xr = rows[keep ? 2 * i : 0], g = rows[keep ? 2 * i + 1 : 1];
                if (!keep) maskedGradient(x, xo + i * xN + ch * hw, dy, dyo + i * dyN + ch * hw, hw, sc, sh, relu, xr, g);
                if (accumulate) {
                    System.arraycopy(dx, op, out, 0, hw);
                    for (int j = 0; j < hw; j++) out[j] += a * g[j] + b * (xr[j] - mu) + d;
                } else {
                    for (int j = 0; j < hw; j++) out[j] = a * g[j] + b * (xr[j] - mu) + d;
                }
                System.arraycopy(out, 0, dx, op, hw);
            }
        });
    }

    /** xr = x plane, g = dy plane masked by xr * sc + sh > 0 when relu (the forward's own arithmetic, so the mask matches). */
    private static void maskedGradient(float[] x, int xp, float[] dy, int dp, int hw, float sc, float sh, boolean relu,
                                       float[] xr, float[] g) {
        System.arraycopy(x, xp, xr, 0, hw);
        System.arraycopy(dy, dp, g, 0, hw);
        if (relu) {
            for (int j = 0; j < hw; j++) g[j] *= reluMask(xr[j] * sc + sh);
        }
    }

    /** 1 where v > 0, else 0 (NaN stays NaN): the derivative of max(v, 0) without a branch, so loops using it vectorise. */
    private static float reluMask(float v) {
        return Math.max(Math.signum(v), 0);
    }

    /** Sum of row[off .. off+len) with four partial sums, so the adds do not wait on each other. */
    private static double sum(double[] row, int off, int len) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int j = off, end = off + len;
        for (; j + 4 <= end; j += 4) {
            s0 += row[j];
            s1 += row[j + 1];
            s2 += row[j + 2];
            s3 += row[j + 3];
        }
        for (; j < end; j++) s0 += row[j];
        return (s0 + s1) + (s2 + s3);
    }
}
