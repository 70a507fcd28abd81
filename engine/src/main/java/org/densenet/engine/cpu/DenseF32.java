package org.densenet.engine.cpu;

/** Fully connected layer and softmax cross-entropy on contiguous row-major matrices. */
final class DenseF32 {
    private DenseF32() {
    }

    /** Rows per task: row blocks are independent, so the split does not change results. */
    private static final int ROWS = 16;

    /** y [n, o] = x [n, f] * w [o, f]^T + b [o]. */
    static void linearForward(Parallel par, Scratch scratch, int n, int f, int o, float[] x, int xo, float[] w, int wo,
                              float[] b, int bo, float[] y, int yo) {
        par.run((n + ROWS - 1) / ROWS, (t, wk) -> {
            int r0 = t * ROWS, rows = Math.min(ROWS, n - r0);
            GemmF32.gemm(rows, o, f, x, xo + r0 * f, f, 1, w, wo, 1, f, y, yo + r0 * o, o, false, scratch, wk);
            for (int i = r0; i < r0 + rows; i++) {
                for (int j = 0; j < o; j++) y[yo + i * o + j] += b[bo + j];
            }
        });
    }

    /** dx = dy * w (when dx is wanted), dw = dy^T * x, db = column sums of dy. */
    static void linearBackward(Parallel par, Scratch scratch, int n, int f, int o, float[] x, int xo, float[] w, int wo,
                               float[] dy, int dyo, float[] dx, int dxo, float[] dw, int dwo, float[] db, int dbo) {
        if (dx != null) {
            par.run((n + ROWS - 1) / ROWS, (t, wk) -> {
                int r0 = t * ROWS, rows = Math.min(ROWS, n - r0);
                GemmF32.gemm(rows, f, o, dy, dyo + r0 * o, o, 1, w, wo, f, 1, dx, dxo + r0 * f, f, false, scratch, wk);
            });
        }
        par.run((o + ROWS - 1) / ROWS, (t, wk) -> {
            int r0 = t * ROWS, rows = Math.min(ROWS, o - r0);
            GemmF32.gemm(rows, f, n, dy, dyo + r0, 1, o, x, xo, f, 1, dw, dwo + r0 * f, f, false, scratch, wk);
            for (int j = r0; j < r0 + rows; j++) {
                double s = 0;
                for (int i = 0; i < n; i++) s += dy[dyo + i * o + j];
                db[dbo + j] = (float) s;
            }
        });
    }

    /**
     * Mean cross-entropy of softmax(logits [n, k]) against labels; dlogits (if not null) gets
     * (softmax - onehot) / n. A label counts as top-t correct when fewer than t logits of its
     * row are strictly greater than the label's logit (ties favour the label).
     * Returns {loss, top1, top5}.
     */
    static double[] softmaxCrossEntropy(int n, int k, float[] logits, int lo, int[] labels, int labo, float[] dl, int dlo) {
        double total = 0;
        int top1 = 0, top5 = 0, topK = Math.min(5, k);
        for (int i = 0; i < n; i++) {
            int row = lo + i * k;
            int label = labels[labo + i];
            if (label < 0 || label >= k) {
                throw new IllegalArgumentException("softmaxCrossEntropy: label " + label + " of sample " + i + " is outside [0, " + k + ")");
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) max = Math.max(max, logits[row + j]);
            double sum = 0;
            for (int j = 0; j < k; j++) sum += Math.exp(logits[row + j] - max);
            double lse = max + Math.log(sum);
            total += lse - logits[row + label];
            float target = logits[row + label];
            int greater = 0;
            for (int j = 0; j < k; j++) if (logits[row + j] > target) greater++;
            if (greater < 1) top1++;
            if (greater < topK) top5++;
            if (dl != null) {
                for (int j = 0; j < k; j++) {
                    double pr = Math.exp(logits[row + j] - lse);
                    dl[dlo + i * k + j] = (float) ((pr - (j == label ? 1 : 0)) / n);
                }
            }
        }
        return new double[] {total / n, top1, top5};
    }
}
