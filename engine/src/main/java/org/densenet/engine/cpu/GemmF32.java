package org.densenet.engine.cpu;

import java.util.Arrays;

/**
 * Single-threaded C[m, n] (+)= A[m, k] * B[k, n] with arbitrary element strides for A and B,
 * so transposed operands need no copies. B is packed per (KC x NC) block into a contiguous
 * panel; each C row segment then takes rank-4 updates in a loop C2 vectorises.
 *
 * <p>Every element of C is reduced over k in the same order whatever m, n or the caller's
 * partitioning of C, so results do not depend on how work is split across threads.
 */
final class GemmF32 {
    static final int KC = 128;
    static final int NC = 256;

    private GemmF32() {
    }

    /** Size of the packing buffer {@link #gemm} needs. */
    static int packSize() {
        return KC * NC;
    }

    /**
     * A[i, p] = a[aOff + i * aRow + p * aCol]; B[p, j] = b[bOff + p * bRow + j * bCol];
     * C[i, j] = c[cOff + i * ldc + j].
     */
    static void gemm(int m, int n, int k,
                     float[] a, int aOff, int aRow, int aCol,
                     float[] b, int bOff, int bRow, int bCol,
                     float[] c, int cOff, int ldc, boolean accumulate, float[] pack) {
        if (!accumulate) {
            for (int i = 0; i < m; i++) Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, (float) 0);
        }
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                packB(b, bOff + pc * bRow + jc * bCol, bRow, bCol, kc, nc, pack);
                for (int i = 0; i < m; i++) {
                    rowUpdate(a, aOff + i * aRow + pc * aCol, aCol, pack, kc, nc, c, cOff + i * ldc + jc);
                }
            }
        }
    }

    private static void packB(float[] b, int off, int bRow, int bCol, int kc, int nc, float[] pack) {
        if (bCol == 1) {
            for (int p = 0; p < kc; p++) System.arraycopy(b, off + p * bRow, pack, p * nc, nc);
        } else {
            for (int j = 0; j < nc; j++) {
                int src = off + j * bCol;
                for (int p = 0; p < kc; p++) pack[p * nc + j] = b[src + p * bRow];
            }
        }
    }

    /** c[co .. co+nc) += sum_p a[ao + p*aCol] * pack[p*nc .. p*nc+nc). */
    private static void rowUpdate(float[] a, int ao, int aCol, float[] pack, int kc, int nc, float[] c, int co) {
        int p = 0;
        for (; p + 4 <= kc; p += 4) {
            float a0 = a[ao + p * aCol];
            float a1 = a[ao + (p + 1) * aCol];
            float a2 = a[ao + (p + 2) * aCol];
            float a3 = a[ao + (p + 3) * aCol];
            int b0 = p * nc;
            int b1 = b0 + nc;
            int b2 = b1 + nc;
            int b3 = b2 + nc;
            for (int j = 0; j < nc; j++) {
                c[co + j] += a0 * pack[b0 + j] + a1 * pack[b1 + j] + a2 * pack[b2 + j] + a3 * pack[b3 + j];
            }
        }
        for (; p < kc; p++) {
            float a0 = a[ao + p * aCol];
            int b0 = p * nc;
            for (int j = 0; j < nc; j++) c[co + j] += a0 * pack[b0 + j];
        }
    }
}
