package org.densenet.engine.cpu;

/**
 * Batch normalisation over (N, H, W) per channel in the channel-slice layout: channel c of
 * sample n is the plane of hw elements at xo + n * xN + c * hw. Reductions run per channel,
 * over samples in order and in double, so they do not depend on the thread count.
 */
final class NormF32 {
    private NormF32() {
    }

    /** mean[c], biased var[c] of x [n, c, hw], two passes per channel. */
    static void statistics(Parallel par, int n, int c, int hw, float[] x, int xo, int xN, float[] mean, int mo, float[] var, int vo) {
        double count = (double) n * hw;
        par.run(c, (ch, wk) -> {
            double s = 0;
            for (int i = 0; i < n; i++) s += sum(x, xo + i * xN + ch * hw, hw);
            double mu = s / count;
            double ss = 0;
            for (int i = 0; i < n; i++) ss += sumSquaredDeviation(x, xo + i * xN + ch * hw, hw, mu);
            mean[mo + ch] = (float) mu;
            var[vo + ch] = (float) (ss / count);
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

    /** y = x * scale + shift per channel, then max(., 0) when relu. y may alias x. */
    static void apply(Parallel par, int n, int c, int hw, float[] x, int xo, int xN, double[] scale, double[] shift, boolean relu,
                      float[] y, int yo, int yN) {
        par.run(n, (i, wk) -> {
            for (int ch = 0; ch < c; ch++) {
                applyPlane(x, xo + i * xN + ch * hw, y, yo + i * yN + ch * hw, hw, (float) scale[ch], (float) shift[ch], relu);
            }
        });
    }

    /**
     * Training-mode backward. With g = dy masked by (x * scale + shift > 0) when relu:
     * dbeta = sum g, dgamma = sum g * xhat, dx = scale * (g - mean(g) - xhat * mean(g * xhat)).
     */
    static void backward(Parallel par, int n, int c, int hw, float[] x, int xo, int xN, float[] dy, int dyo, int dyN,
                         float[] mean, int mo, float[] var, int vo, double eps, double[] scale, double[] shift, boolean relu,
                         float[] dx, int dxo, int dxN, boolean accumulate, float[] dgamma, int dgo, float[] dbeta, int dbo) {
        double count = (double) n * hw;
        par.run(c, (ch, wk) -> {
            float sc = (float) scale[ch], sh = (float) shift[ch];
            double mu = mean[mo + ch];
            double sumG = 0, sumGX = 0;
            for (int i = 0; i < n; i++) {
                int xp = xo + i * xN + ch * hw, dp = dyo + i * dyN + ch * hw;
                double sg = 0, sgx = 0;
                for (int j = 0; j < hw; j++) {
                    float xv = x[xp + j];
                    float g = relu && xv * sc + sh <= 0 ? 0 : dy[dp + j];
                    sg += g;
                    sgx += g * (xv - mu);
                }
                sumG += sg;
                sumGX += sgx;
            }
            double invstd = 1 / Math.sqrt(var[vo + ch] + eps);
            dbeta[dbo + ch] = (float) sumG;
            dgamma[dgo + ch] = (float) (sumGX * invstd);
            // dx = a * g + b * (x - mean) + d, with the per-channel constants folded in double
            float a = sc, b = (float) (-scale[ch] * invstd * invstd * sumGX / count), d = (float) (-scale[ch] * sumG / count);
            float muF = mean[mo + ch];
            for (int i = 0; i < n; i++) {
                int xp = xo + i * xN + ch * hw, dp = dyo + i * dyN + ch * hw, op = dxo + i * dxN + ch * hw;
                for (int j = 0; j < hw; j++) {
                    float xv = x[xp + j];
                    float g = relu && xv * sc + sh <= 0 ? 0 : dy[dp + j];
                    float v = a * g + b * (xv - muF) + d;
                    dx[op + j] = accumulate ? dx[op + j] + v : v;
                }
            }
        });
    }

    private static void applyPlane(float[] x, int xp, float[] y, int yp, int len, float sc, float sh, boolean relu) {
        if (relu) {
            for (int j = 0; j < len; j++) y[yp + j] = Math.max(x[xp + j] * sc + sh, 0);
        } else {
            for (int j = 0; j < len; j++) y[yp + j] = x[xp + j] * sc + sh;
        }
    }

    private static double sum(float[] x, int off, int len) {
        double s = 0;
        for (int j = 0; j < len; j++) s += x[off + j];
        return s;
    }

    private static double sumSquaredDeviation(float[] x, int off, int len, double mu) {
        double s = 0;
        for (int j = 0; j < len; j++) {
            double d = x[off + j] - mu;
            s += d * d;
        }
        return s;
    }
}
