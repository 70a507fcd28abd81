package org.densenet.engine.cpu;

import java.util.Arrays;

/**
 * Average, max and global average pooling over the channel-slice layout, one task per
 * (sample, channel) plane: plane (n, c) of x is h*w elements at xo + n * xN + c * h * w.
 * Average pooling divides by kernel^2 (padding counts, PyTorch's count_include_pad); max
 * pooling skips padding and sends the gradient to the first maximum in row-major order.
 */
final class PoolF32 {
    private PoolF32() {
    }

    /** Planes and window of one pooling call: x [n, c, h, w] -> y [n, c, p, q]. */
    record Geometry(int n, int c, int h, int w, int p, int q, int kernel, int stride, int pad) {
        int planes() {
            return n * c;
        }
    }

    static void avgForward(Parallel par, Geometry g, float[] x, int xo, int xN, float[] y, int yo, int yN) {
        double inv = 1.0 / (g.kernel() * g.kernel());
        par.run(g.planes(), (t, wk) -> {
            int xp = xo + (t / g.c()) * xN + (t % g.c()) * g.h() * g.w();
            int yp = yo + (t / g.c()) * yN + (t % g.c()) * g.p() * g.q();
            for (int op = 0; op < g.p(); op++) {
                int h0 = op * g.stride() - g.pad();
                int hs = Math.max(h0, 0), he = Math.min(h0 + g.kernel(), g.h());
                for (int oq = 0; oq < g.q(); oq++) {
                    int w0 = oq * g.stride() - g.pad();
                    int ws = Math.max(w0, 0), we = Math.min(w0 + g.kernel(), g.w());
                    double s = 0;
                    for (int ih = hs; ih < he; ih++) {
                        for (int iw = ws; iw < we; iw++) s += x[xp + ih * g.w() + iw];
                    }
                    y[yp + op * g.q() + oq] = (float) (s * inv);
                }
            }
        });
    }

    static void avgBackward(Parallel par, Geometry g, float[] dy, int dyo, int dyN, float[] dx, int dxo, int dxN, boolean accumulate) {
        double inv = 1.0 / (g.kernel() * g.kernel());
        par.run(g.planes(), (t, wk) -> {
            int xp = dxo + (t / g.c()) * dxN + (t % g.c()) * g.h() * g.w();
            int yp = dyo + (t / g.c()) * dyN + (t % g.c()) * g.p() * g.q();
            if (!accumulate) Arrays.fill(dx, xp, xp + g.h() * g.w(), (float) 0);
            for (int op = 0; op < g.p(); op++) {
                int h0 = op * g.stride() - g.pad();
                int hs = Math.max(h0, 0), he = Math.min(h0 + g.kernel(), g.h());
                for (int oq = 0; oq < g.q(); oq++) {
                    int w0 = oq * g.stride() - g.pad();
                    int ws = Math.max(w0, 0), we = Math.min(w0 + g.kernel(), g.w());
                    float v = (float) (dy[yp + op * g.q() + oq] * inv);
                    for (int ih = hs; ih < he; ih++) {
                        for (int iw = ws; iw < we; iw++) dx[xp + ih * g.w() + iw] += v;
                    }
                }
            }
        });
    }

    static void maxForward(Parallel par, Geometry g, float[] x, int xo, int xN, float[] y, int yo, int yN) {
        par.run(g.planes(), (t, wk) -> {
            int xp = xo + (t / g.c()) * xN + (t % g.c()) * g.h() * g.w();
            int yp = yo + (t / g.c()) * yN + (t % g.c()) * g.p() * g.q();
            for (int op = 0; op < g.p(); op++) {
                for (int oq = 0; oq < g.q(); oq++) y[yp + op * g.q() + oq] = x[xp + argmax(g, x, xp, op, oq)];
            }
        });
    }

    /** The argmax is recomputed from x, so the gradient goes exactly where the forward maximum came from. */
    static void maxBackward(Parallel par, Geometry g, float[] x, int xo, int xN, float[] dy, int dyo, int dyN,
                            float[] dx, int dxo, int dxN, boolean accumulate) {
        par.run(g.planes(), (t, wk) -> {
            int n = t / g.c(), c = t % g.c();
            int xp = xo + n * xN + c * g.h() * g.w();
            int dp = dxo + n * dxN + c * g.h() * g.w();
            int yp = dyo + n * dyN + c * g.p() * g.q();
            if (!accumulate) Arrays.fill(dx, dp, dp + g.h() * g.w(), (float) 0);
            for (int op = 0; op < g.p(); op++) {
                for (int oq = 0; oq < g.q(); oq++) dx[dp + argmax(g, x, xp, op, oq)] += dy[yp + op * g.q() + oq];
            }
        });
    }

    /** Index within the plane of the first maximum of window (op, oq); the first NaN, if any, wins. */
    private static int argmax(Geometry g, float[] x, int xp, int op, int oq) {
        int h0 = op * g.stride() - g.pad(), w0 = oq * g.stride() - g.pad();
        int hs = Math.max(h0, 0), he = Math.min(h0 + g.kernel(), g.h());
        int ws = Math.max(w0, 0), we = Math.min(w0 + g.kernel(), g.w());
        int best = hs * g.w() + ws;
        float max = Float.NEGATIVE_INFINITY;
        for (int ih = hs; ih < he; ih++) {
            for (int iw = ws; iw < we; iw++) {
                float v = x[xp + ih * g.w() + iw];
                if (v > max || Float.isNaN(v)) {
                    max = v;
                    best = ih * g.w() + iw;
                    if (Float.isNaN(v)) return best;
                }
            }
        }
        return best;
    }

    /** y[n, c] = mean of plane (n, c); y is a contiguous [n, c] matrix at yo. */
    static void globalAvgForward(Parallel par, int n, int c, int hw, float[] x, int xo, int xN, float[] y, int yo) {
        par.run(n, (i, wk) -> {
            for (int ch = 0; ch < c; ch++) {
                int xp = xo + i * xN + ch * hw;
                double s = 0;
                for (int j = 0; j < hw; j++) s += x[xp + j];
                y[yo + i * c + ch] = (float) (s / hw);
            }
        });
    }

    static void globalAvgBackward(Parallel par, int n, int c, int hw, float[] dy, int dyo, float[] dx, int dxo, int dxN, boolean accumulate) {
        par.run(n, (i, wk) -> {
            for (int ch = 0; ch < c; ch++) {
                int xp = dxo + i * dxN + ch * hw;
                float v = (float) ((double) dy[dyo + i * c + ch] / hw);
                for (int j = 0; j < hw; j++) dx[xp + j] = accumulate ? dx[xp + j] + v : v;
            }
        });
    }
}
