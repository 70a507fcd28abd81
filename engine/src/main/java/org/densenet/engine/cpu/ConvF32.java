package org.densenet.engine.cpu;

import java.util.Arrays;

/**
 * 2-D convolution (no bias, groups or dilation) over the channel-slice layout: sample n of x
 * starts at xo + n * xN and holds [C, H, W] packed; likewise y. Each sample is lowered to a
 * GEMM over im2col columns [C*R*S, P*Q] kept in per-worker scratch; 1x1 stride-1 unpadded
 * convolutions use the input itself as the column matrix.
 */
final class ConvF32 {
    private ConvF32() {
    }

    /** Scratch slots: per-worker im2col columns; worker 0's flipped filter and per-group partial filters. */
    private static final int COL_SLOT = 0;
    private static final int FLIP_SLOT = 3;
    private static final int PARTIAL_SLOT = 3;
    private static final int SPREAD_SLOT = 1;
    /** Sample groups of the filter gradient: enough tasks for the cores, few partial filters to add up. */
    private static final int FILTER_GROUPS = 16;

    /** Shapes of one convolution: x [N, C, H, W], w [K, C, R, S], y [N, K, P, Q]. */
    record Geometry(int n, int c, int h, int w, int k, int r, int s, int p, int q, int stride, int pad) {
        int crs() {
            return c * r * s;
        }

        int pq() {
            return p * q;
        }

        boolean pointwise() {
            return r == 1 && s == 1 && stride == 1 && pad == 0;
        }
    }

    /** y (+)= conv(x, w); the filter starts at wo (it may be a view into a flat parameter buffer). */
    static void forward(Parallel par, Scratch scratch, Geometry g, float[] x, int xo, int xN, float[] w, int wo, float[] y, int yo, int yN,
                        boolean accumulate) {
        if (g.stride() == 1 && !g.pointwise()) {
            forwardShifted(par, scratch, g, x, xo, xN, w, wo, y, yo, yN, accumulate);
            return;
        }
        int crs = g.crs(), pq = g.pq(), parts = parts(par, g.n(), g.p());
        par.run(g.n() * parts, (t, wk) -> {
            int n = t / parts, lo = rowsFrom(t % parts, parts, g.p()) * g.q(), hi = rowsFrom(t % parts + 1, parts, g.p()) * g.q();
            float[] b = columns(scratch, wk, g, x, xo + n * xN);
            GemmF32.gemm(g.k(), hi - lo, crs, w, wo, crs, 1, b, (b == x ? xo + n * xN : 0) + lo, pq, 1, y, yo + n * yN + lo, pq,
                    accumulate, scratch, wk);
        });
    }

    /**
     * Tasks per sample: one when there are enough samples for the threads, else the output rows
     * are shared out too (small-batch inference). Each output element is computed the same way
     * in any part, so the split does not change results.
     */
    private static int parts(Parallel par, int samples, int outRows) {
        return Math.max(1, Math.min(outRows, (par.threads() + samples - 1) / samples));
    }

    /** First output row of part i of parts. */
    private static int rowsFrom(int i, int parts, int outRows) {
        return (int) ((long) i * outRows / parts);
    }

    /**
     * Stride 1 without im2col: each input channel is copied zero-padded into rows of Wp = W + 2 pad,
     * so the column-matrix row of (c, r, s) is that copy read from offset c * plane + r * Wp + s.
     * The GEMM then computes y on the padded width (P * Wp columns, the last Wp - Q of each row
     * unused) and the valid columns are copied out.
     */
    private static void forwardShifted(Parallel par, Scratch scratch, Geometry g, float[] x, int xo, int xN, float[] w, int wo,
                                       float[] y, int yo, int yN, boolean accumulate) {
        int c = g.c(), h = g.h(), wd = g.w(), pad = g.pad(), wp = wd + 2 * pad, plane = (h + 2 * pad) * wp + g.s();
        int p = g.p(), q = g.q(), crs = g.crs();
        int[] rows = new int[crs];
        for (int ch = 0, i = 0; ch < c; ch++) {
            for (int r = 0; r < g.r(); r++) for (int s = 0; s < g.s(); s++) rows[i++] = ch * plane + r * wp + s;
        }
        int parts = parts(par, g.n(), p);
        par.run(g.n() * parts, (t, wk) -> {
            int n = t / parts, oh0 = rowsFrom(t % parts, parts, p), oh1 = rowsFrom(t % parts + 1, parts, p), cols = (oh1 - oh0) * wp;
            float[] xp = scratch.bufF32(wk, COL_SLOT, c * plane);
            java.util.Arrays.fill(xp, 0, c * plane, (float) 0);
            int xs = xo + n * xN;
            for (int ch = 0; ch < c; ch++) {
                for (int ih = 0; ih < h; ih++) System.arraycopy(x, xs + (ch * h + ih) * wd, xp, ch * plane + (ih + pad) * wp + pad, wd);
            }
            // yp [K, rows oh0..oh1 of width Wp]
            float[] yp = scratch.bufF32(wk, SPREAD_SLOT, g.k() * cols);
            int ys = yo + n * yN;
            if (accumulate) {
                for (int k = 0; k < g.k(); k++) {
                    for (int oh = oh0; oh < oh1; oh++) System.arraycopy(y, ys + (k * p + oh) * q, yp, k * cols + (oh - oh0) * wp, q);
                }
            }
            GemmF32.gemm(g.k(), cols, crs, w, wo, crs, 1, new GemmF32.GatheredRows(xp, oh0 * wp, rows), yp, 0, cols, accumulate,
                    scratch, wk);
            for (int k = 0; k < g.k(); k++) {
                for (int oh = oh0; oh < oh1; oh++) System.arraycopy(yp, k * cols + (oh - oh0) * wp, y, ys + (k * p + oh) * q, q);
            }
        });
    }

    /** dx (+)= conv_transpose(dy, w). */
    static void backwardData(Parallel par, Scratch scratch, Geometry g, float[] dy, int dyo, int dyN, float[] w, int wo,
                             float[] dx, int dxo, int dxN, boolean accumulate) {
        int crs = g.crs(), pq = g.pq();
        if (g.stride() == 1 && g.r() == g.s() && g.pad() < g.r() && !g.pointwise()) {
            // stride 1: the adjoint is a convolution of dy with the flipped, transposed filter, which
            // avoids the col2im scatter and gives the GEMM a longer reduction (K*R*S instead of K)
            float[] flipped = scratch.bufF32(0, FLIP_SLOT, crs * g.k());
            flip(g, w, wo, flipped);
            Geometry t = new Geometry(g.n(), g.k(), g.p(), g.q(), g.c(), g.r(), g.s(), g.h(), g.w(), 1, g.r() - 1 - g.pad());
            forward(par, scratch, t, dy, dyo, dyN, flipped, 0, dx, dxo, dxN, accumulate);
            return;
        }
        par.run(g.n(), (n, wk) -> {
            int xs = dxo + n * dxN;
            if (g.pointwise()) {
                GemmF32.gemm(crs, pq, g.k(), w, wo, 1, crs, dy, dyo + n * dyN, pq, 1, dx, xs, pq, accumulate, scratch, wk);
                return;
            }
            float[] dcol = scratch.bufF32(wk, COL_SLOT, crs * pq);
            GemmF32.gemm(crs, pq, g.k(), w, wo, 1, crs, dy, dyo + n * dyN, pq, 1, dcol, 0, pq, false, scratch, wk);
            if (!accumulate) Arrays.fill(dx, xs, xs + g.c() * g.h() * g.w(), (float) 0);
            col2imAdd(g, dcol, dx, xs);
        });
    }

    /** flipped[c, k, r, s] = w[k, c, R-1-r, S-1-s], w starting at wo. */
    private static void flip(Geometry g, float[] w, int wo, float[] flipped) {
        int rs = g.r() * g.s();
        for (int k = 0; k < g.k(); k++) {
            for (int c = 0; c < g.c(); c++) {
                int src = wo + (k * g.c() + c) * rs, dst = (c * g.k() + k) * rs;
                for (int i = 0; i < rs; i++) flipped[dst + i] = w[src + rs - 1 - i];
            }
        }
    }

    /**
     * dw (+)= sum over samples of the filter gradient of each. Samples are cut into a fixed
     * number of groups (independent of the thread count); each group sums into its own partial
     * filter, and the partials are added in group order, so the result is the same on any
     * thread count.
     */
    static void backwardFilter(Parallel par, Scratch scratch, Geometry g, float[] x, int xo, int xN, float[] dy, int dyo, int dyN,
                               float[] dw, int dwo, boolean accumulate) {
        int size = g.k() * g.crs();
        int groups = Math.min(g.n(), FILTER_GROUPS), per = (g.n() + groups - 1) / groups;
        float[] partial = scratch.bufF32(0, PARTIAL_SLOT, groups * size);
        boolean shifted = g.stride() == 1;
        par.run(groups, (t, wk) -> {
            int n0 = t * per, n1 = Math.min(g.n(), n0 + per);
            if (shifted) {
                filterGradientShifted(scratch, wk, g, x, xo, xN, dy, dyo, dyN, n0, n1, partial, t * size);
            } else {
                filterGradientIm2col(scratch, wk, g, x, xo, xN, dy, dyo, dyN, n0, n1, partial, t * size);
            }
        });
        int chunk = 4096, rs = g.r() * g.s(), c = g.c();
        par.run((size + chunk - 1) / chunk, (t, wk) -> {
            for (int i = t * chunk; i < Math.min(size, (t + 1) * chunk); i++) {
                // i indexes dw [K, C, R, S]; the shifted partials are laid out [K, R*S, C]
                int src = shifted ? (i / (c * rs)) * c * rs + (i % rs) * c + (i / rs) % c : i;
                double s = accumulate ? dw[dwo + i] : 0;
                for (int gi = 0; gi < groups && gi * per < g.n(); gi++) s += partial[gi * size + src];
                dw[dwo + i] = (float) s;
            }
        });
    }

    /** Strides above 1: partial [K, C*R*S] = sum over samples [n0, n1) of dy_n * cols_n^T. */
    private static void filterGradientIm2col(Scratch scratch, int wk, Geometry g, float[] x, int xo, int xN, float[] dy, int dyo,
                                             int dyN, int n0, int n1, float[] partial, int po) {
        int crs = g.crs(), pq = g.pq();
        for (int n = n0; n < n1; n++) {
            float[] b = columns(scratch, wk, g, x, xo + n * xN);
            GemmF32.gemm(g.k(), crs, pq, dy, dyo + n * dyN, pq, 1, b, b == x ? xo + n * xN : 0, 1, pq, partial, po, crs, n > n0,
                    scratch, wk);
        }
    }

    /**
     * Stride 1: with x transposed and zero-padded to xT [(H + 2 pad) * Wp + S, C] (Wp = W + 2 pad)
     * and dy spread over rows of Wp (zeros past Q), tap (r, s) of the gradient is dy * xT shifted
     * by r * Wp + s rows. All taps form one GEMM whose B is read in place by row shifts, so only
     * x is transposed, not its R*S times larger column matrix. partial is [K, R*S, C].
     */
    private static void filterGradientShifted(Scratch scratch, int wk, Geometry g, float[] x, int xo, int xN, float[] dy, int dyo,
                                              int dyN, int n0, int n1, float[] partial, int po) {
        int c = g.c(), h = g.h(), wd = g.w(), pad = g.pad(), wp = wd + 2 * pad, hp = h + 2 * pad;
        int p = g.p(), q = g.q(), kp = p * wp, rs = g.r() * g.s();
        int[] taps = new int[rs];
        for (int r = 0; r < g.r(); r++) for (int s = 0; s < g.s(); s++) taps[r * g.s() + s] = r * wp + s;
        float[] xT = scratch.bufF32(wk, COL_SLOT, (hp * wp + g.s()) * c);
        Arrays.fill(xT, 0, (hp * wp + g.s()) * c, (float) 0);
        boolean spread = wp != q;
        float[] dyp = spread ? scratch.bufF32(wk, SPREAD_SLOT, g.k() * kp) : dy;
        if (spread) Arrays.fill(dyp, 0, g.k() * kp, (float) 0);
        for (int n = n0; n < n1; n++) {
            transposePadded(x, xo + n * xN, c, h, wd, pad, wp, xT);
            int ao = dyo + n * dyN;
            if (spread) {
                for (int k = 0; k < g.k(); k++) {
                    for (int oh = 0; oh < p; oh++) System.arraycopy(dy, ao + (k * p + oh) * q, dyp, k * kp + oh * wp, q);
                }
                ao = 0;
            }
            GemmF32.gemm(g.k(), rs * c, kp, dyp, ao, kp, 1, new GemmF32.ShiftedColumns(xT, 0, c, taps, c), partial, po, rs * c, n > n0,
                    scratch, wk);
        }
    }

    /** xT[((ih + pad) * wp + iw + pad) * c + ch] = x[ch, ih, iw], in blocks of channels; the padding is left as it is. */
    private static void transposePadded(float[] x, int xs, int c, int h, int wd, int pad, int wp, float[] xT) {
        final int block = 16;
        for (int c0 = 0; c0 < c; c0 += block) {
            int c1 = Math.min(c, c0 + block);
            for (int ih = 0; ih < h; ih++) {
                int dstRow = ((ih + pad) * wp + pad) * c;
                for (int ch = c0; ch < c1; ch++) {
                    int src = xs + (ch * h + ih) * wd;
                    for (int iw = 0; iw < wd; iw++) xT[dstRow + iw * c + ch] = x[src + iw];
                }
            }
        }
    }

    /**
     * The column matrix [C*R*S, P*Q] of the sample at xs: x itself (starting at xs) for a 1x1
     * stride-1 unpadded convolution, else im2col into the worker's scratch (starting at 0).
     */
    private static float[] columns(Scratch scratch, int wk, Geometry g, float[] x, int xs) {
        if (g.pointwise()) return x;
        float[] col = scratch.bufF32(wk, COL_SLOT, g.crs() * g.pq());
        im2col(g, x, xs, col);
        return col;
    }

    /** The column matrix of one sample: rows (c, r, s), each P*Q long. */
    static void im2col(Geometry g, float[] x, int xs, float[] col) {
        int h = g.h(), wd = g.w(), p = g.p(), q = g.q(), st = g.stride(), pad = g.pad();
        int row = 0;
        for (int c = 0; c < g.c(); c++) {
            int plane = xs + c * h * wd;
            for (int r = 0; r < g.r(); r++) {
                for (int s = 0; s < g.s(); s++, row++) {
                    int base = row * p * q;
                    int qlo = firstInside(s, pad, st), qhi = lastInsideExclusive(s, pad, st, wd, q);
                    for (int op = 0; op < p; op++) {
                        int ih = op * st - pad + r;
                        int dst = base + op * q;
                        if (ih < 0 || ih >= h || qlo >= qhi) {
                            Arrays.fill(col, dst, dst + q, (float) 0);
                            continue;
                        }
                        int src = plane + ih * wd - pad + s;
                        for (int oq = 0; oq < qlo; oq++) col[dst + oq] = 0;
                        if (st == 1) {
                            System.arraycopy(x, src + qlo, col, dst + qlo, qhi - qlo);
                        } else {
                            for (int oq = qlo; oq < qhi; oq++) col[dst + oq] = x[src + oq * st];
                        }
                        for (int oq = qhi; oq < q; oq++) col[dst + oq] = 0;
                    }
                }
            }
        }
    }

    /** x[c, ih, iw] += column entries that read it, the adjoint of {@link #im2col} over all channels. */
    static void col2imAdd(Geometry g, float[] col, float[] x, int xs) {
        int h = g.h(), wd = g.w(), p = g.p(), q = g.q(), st = g.stride(), pad = g.pad();
        int row = 0;
        for (int c = 0; c < g.c(); c++) {
            int plane = xs + c * h * wd;
            for (int r = 0; r < g.r(); r++) {
                for (int s = 0; s < g.s(); s++, row++) {
                    int base = row * p * q;
                    int qlo = firstInside(s, pad, st), qhi = lastInsideExclusive(s, pad, st, wd, q);
                    for (int op = 0; op < p; op++) {
                        int ih = op * st - pad + r;
                        if (ih < 0 || ih >= h) continue;
                        int src = base + op * q;
                        int dst = plane + ih * wd - pad + s;
                        if (st == 1) {
                            for (int oq = qlo; oq < qhi; oq++) x[dst + oq] += col[src + oq];
                        } else {
                            for (int oq = qlo; oq < qhi; oq++) x[dst + oq * st] += col[src + oq];
                        }
                    }
                }
            }
        }
    }

    /** First output column whose input column oq*st - pad + s is >= 0. */
    private static int firstInside(int s, int pad, int st) {
        int need = pad - s;
        return need <= 0 ? 0 : (need + st - 1) / st;
    }

    /** One past the last output column whose input column is < width. */
    private static int lastInsideExclusive(int s, int pad, int st, int width, int q) {
        int lim = width - 1 + pad - s;
        if (lim < 0) return 0;
        return Math.min(q, lim / st + 1);
    }
}
