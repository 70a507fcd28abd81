package org.densenet.engine.cpu;

/**
 * Single-threaded C[m, n] (+)= A[m, k] * B[k, n] with arbitrary element strides for A and B,
 * so transposed operands need no copies.
 *
 * <p>Per (KC x NC) block, B is packed into one array per row and each row of C is accumulated
 * in an array of its own; the inner loop then reads and writes every array at the same index
 * j. That is what lets C2 vectorise it: a loop that stores into one float array and loads
 * another at an unrelated offset is kept scalar, because the two might be the same array.
 * Four values of k are fused per pass (Math.fma, exactly rounded, so scalar and vector code
 * agree).
 *
 * <p>Every element of C is reduced over k in the same order whatever m, n or the caller's
 * partitioning of C, so results do not depend on how work is split across threads.
 */
final class GemmF32 {
    static final int KC = 32;
    static final int NC = 512;
    /** Scratch slots of the packed panel rows and the accumulator rows; callers use the other slots. */
    static final int PANEL_SLOT = 0;
    static final int ACC_SLOT = 1;

    private GemmF32() {
    }

    /**
     * A[i, p] = a[aOff + i * aRow + p * aCol]; B[p, j] = b[bOff + p * bRow + j * bCol];
     * C[i, j] = c[cOff + i * ldc + j].
     */
    static void gemm(int m, int n, int k,
                     float[] a, int aOff, int aRow, int aCol,
                     float[] b, int bOff, int bRow, int bCol,
                     float[] c, int cOff, int ldc, boolean accumulate, Scratch scratch, int worker) {
        gemm(m, n, k, a, aOff, aRow, aCol, b, bOff, bRow, bCol, null, 0, c, cOff, ldc, accumulate, scratch, worker);
    }

    /**
     * As above, but with {@code taps} not null B is a row of shifted copies of one row-major matrix:
     * B[p, t * seg + q] = b[bOff + (p + taps[t]) * bRow + q] for q in [0, seg) (bCol must be 1).
     * A stride-1 filter gradient reads its input this way, one shift per filter tap.
     */
    static void gemm(int m, int n, int k,
                     float[] a, int aOff, int aRow, int aCol,
                     float[] b, int bOff, int bRow, int bCol, int[] taps, int seg,
                     float[] c, int cOff, int ldc, boolean accumulate, Scratch scratch, int worker) {
        float[][] panel = scratch.rowsF32(worker, PANEL_SLOT, KC, NC);
        float[][] acc = scratch.rowsF32(worker, ACC_SLOT, m, NC);
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int i = 0; i < m; i++) {
                if (accumulate) System.arraycopy(c, cOff + i * ldc + jc, acc[i], 0, nc);
                else java.util.Arrays.fill(acc[i], 0, nc, (float) 0);
            }
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                if (taps == null) pack(b, bOff + pc * bRow + jc * bCol, bRow, bCol, kc, nc, panel);
                else packShifted(b, bOff + pc * bRow, bRow, taps, seg, jc, kc, nc, panel);
                for (int i = 0; i < m; i++) rowUpdate(a, aOff + i * aRow + pc * aCol, aCol, panel, kc, nc, acc[i]);
            }
            for (int i = 0; i < m; i++) System.arraycopy(acc[i], 0, c, cOff + i * ldc + jc, nc);
        }
    }

    /** panel[p][j] = B[p, j]; transposed sources are read in square tiles to stay cache-friendly. */
    private static void pack(float[] b, int off, int bRow, int bCol, int kc, int nc, float[][] panel) {
        if (bCol == 1) {
            for (int p = 0; p < kc; p++) System.arraycopy(b, off + p * bRow, panel[p], 0, nc);
            return;
        }
        final int t = 16;
        for (int p0 = 0; p0 < kc; p0 += t) {
            int p1 = Math.min(kc, p0 + t);
            for (int j0 = 0; j0 < nc; j0 += t) {
                int j1 = Math.min(nc, j0 + t);
                for (int p = p0; p < p1; p++) {
                    float[] row = panel[p];
                    int src = off + p * bRow;
                    for (int j = j0; j < j1; j++) row[j] = b[src + j * bCol];
                }
            }
        }
    }

    /** panel[p][j - jc] = B[p, j] for j in [jc, jc + nc) of the shifted-copies matrix (see gemm). */
    private static void packShifted(float[] b, int off, int bRow, int[] taps, int seg, int jc, int kc, int nc, float[][] panel) {
        for (int t = jc / seg; t < taps.length && t * seg < jc + nc; t++) {
            int q0 = Math.max(jc, t * seg) - t * seg, q1 = Math.min(jc + nc, (t + 1) * seg) - t * seg;
            int dst = t * seg + q0 - jc;
            for (int p = 0; p < kc; p++) System.arraycopy(b, off + (p + taps[t]) * bRow + q0, panel[p], dst, q1 - q0);
        }
    }

    /** acc[0 .. nc) += sum_p a[aOff + p*aCol] * panel[p][0 .. nc), four values of p per pass. */
    private static void rowUpdate(float[] a, int aOff, int aCol, float[][] panel, int kc, int nc, float[] acc) {
        int p = 0;
        for (; p + 4 <= kc; p += 4) {
            float a0 = a[aOff + p * aCol];
            float a1 = a[aOff + (p + 1) * aCol];
            float a2 = a[aOff + (p + 2) * aCol];
            float a3 = a[aOff + (p + 3) * aCol];
            float[] b0 = panel[p], b1 = panel[p + 1], b2 = panel[p + 2], b3 = panel[p + 3];
            for (int j = 0; j < nc; j++) {
                acc[j] = Math.fma(a3, b3[j], Math.fma(a2, b2[j], Math.fma(a1, b1[j], Math.fma(a0, b0[j], acc[j]))));
            }
        }
        for (; p < kc; p++) {
            float a0 = a[aOff + p * aCol];
            float[] b0 = panel[p];
            for (int j = 0; j < nc; j++) acc[j] = Math.fma(a0, b0[j], acc[j]);
        }
    }
}
