package org.densenet.engine.cpu;

/**
 * Single-threaded C[m, n] (+)= A[m, k] * B[k, n] with arbitrary element strides for A and B,
 * so transposed operands need no copies.
 *
 * <p>B is used in place where its rows are contiguous, else packed per (KC x NC) block into a
 * contiguous panel; each row of C is accumulated in
 * double in a separate array and takes rank-4 updates from the panel. Keeping the accumulator
 * a different array type from the panel is what lets C2 vectorise the inner loop: with both in
 * float arrays at unrelated offsets it cannot rule out aliasing and falls back to scalar code.
 * Accumulating in double also makes the float32 result round only once.
 *
 * <p>Every element of C is reduced over k in the same order whatever m, n or the caller's
 * partitioning of C, so results do not depend on how work is split across threads.
 */
final class GemmF32 {
    static final int KC = 32;
    static final int NC = 256;

    private GemmF32() {
    }

    /** Scratch slots of the packed panel and the accumulator; callers use the other slots. */
    static final int PACK_SLOT = 1;
    static final int ACC_SLOT = 2;

    /**
     * A[i, p] = a[aOff + i * aRow + p * aCol]; B[p, j] = b[bOff + p * bRow + j * bCol];
     * C[i, j] = c[cOff + i * ldc + j].
     */
    static void gemm(int m, int n, int k,
                     float[] a, int aOff, int aRow, int aCol,
                     float[] b, int bOff, int bRow, int bCol,
                     float[] c, int cOff, int ldc, boolean accumulate, Scratch scratch, int worker) {
        float[] pack = scratch.bufF32(worker, PACK_SLOT, KC * NC);
        double[] acc = scratch.bufF64(worker, ACC_SLOT, m * NC);
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int i = 0; i < m; i++) {
                int co = cOff + i * ldc + jc, ao = i * NC;
                if (accumulate) {
                    for (int j = 0; j < nc; j++) acc[ao + j] = c[co + j];
                } else {
                    for (int j = 0; j < nc; j++) acc[ao + j] = 0;
                }
            }
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                // rows of B that are already contiguous serve as the panel directly
                float[] panel = b;
                int po = bOff + pc * bRow + jc, ps = bRow;
                if (bCol != 1) {
                    packB(b, bOff + pc * bRow + jc * bCol, bRow, bCol, kc, nc, pack);
                    panel = pack;
                    po = 0;
                    ps = nc;
                }
                for (int i = 0; i < m; i++) {
                    rowUpdate(a, aOff + i * aRow + pc * aCol, aCol, panel, po, ps, kc, nc, acc, i * NC);
                }
            }
            for (int i = 0; i < m; i++) {
                int co = cOff + i * ldc + jc, ao = i * NC;
                for (int j = 0; j < nc; j++) c[co + j] = (float) acc[ao + j];
            }
        }
    }

    /** pack[p * nc + j] = B[p, j] for B with non-unit column stride, in square tiles to keep both sides cache-friendly. */
    private static void packB(float[] b, int off, int bRow, int bCol, int kc, int nc, float[] pack) {
        final int t = 16;
        for (int j0 = 0; j0 < nc; j0 += t) {
            int j1 = Math.min(nc, j0 + t);
            for (int p0 = 0; p0 < kc; p0 += t) {
                int p1 = Math.min(kc, p0 + t);
                if (bRow == 1) {
                    for (int j = j0; j < j1; j++) {
                        int src = off + j * bCol;
                        for (int p = p0; p < p1; p++) pack[p * nc + j] = b[src + p];
                    }
                } else {
                    for (int j = j0; j < j1; j++) {
                        int src = off + j * bCol;
                        for (int p = p0; p < p1; p++) pack[p * nc + j] = b[src + p * bRow];
                    }
                }
            }
        }
    }

    /** acc[ao .. ao+nc) += sum_p a[aOff + p*aCol] * panel row p (ps apart from po), four values of p at a time. */
    private static void rowUpdate(float[] a, int aOff, int aCol, float[] pack, int po, int ps, int kc, int nc, double[] acc, int ao) {
        int p = 0;
        for (; p + 4 <= kc; p += 4) {
            float a0 = a[aOff + p * aCol];
            float a1 = a[aOff + (p + 1) * aCol];
            float a2 = a[aOff + (p + 2) * aCol];
            float a3 = a[aOff + (p + 3) * aCol];
            int b0 = po + p * ps;
            int b1 = b0 + ps;
            int b2 = b1 + ps;
            int b3 = b2 + ps;
            for (int j = 0; j < nc; j++) {
                acc[ao + j] += a0 * pack[b0 + j] + a1 * pack[b1 + j] + a2 * pack[b2 + j] + a3 * pack[b3 + j];
            }
        }
        for (; p < kc; p++) {
            float a0 = a[aOff + p * aCol];
            int b0 = po + p * ps;
            for (int j = 0; j < nc; j++) acc[ao + j] += a0 * pack[b0 + j];
        }
    }
}
