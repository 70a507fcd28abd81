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

    /** Where the rows of B come from: {@code pack} copies B[pc .. pc+kc, jc .. jc+nc) into panel rows. */
    sealed interface Operand permits Strided, ShiftedColumns, GatheredRows {
        void pack(int pc, int kc, int jc, int nc, float[][] panel);
    }

    /** B[p, j] = b[off + p * row + j * col]: any strides, transposed B included. */
    record Strided(float[] b, int off, int row, int col) implements Operand {
        @Override
        public void pack(int pc, int kc, int jc, int nc, float[][] panel) {
            int base = off + pc * row + jc * col;
            if (col == 1) {
                for (int p = 0; p < kc; p++) System.arraycopy(b, base + p * row, panel[p], 0, nc);
                return;
            }
            // transposed: square tiles keep both the strided reads and the writes in cache
            final int t = 16;
            for (int p0 = 0; p0 < kc; p0 += t) {
                int p1 = Math.min(kc, p0 + t);
                for (int j0 = 0; j0 < nc; j0 += t) {
                    int j1 = Math.min(nc, j0 + t);
                    for (int p = p0; p < p1; p++) {
                        float[] r = panel[p];
                        int src = base + p * row;
                        for (int j = j0; j < j1; j++) r[j] = b[src + j * col];
                    }
                }
            }
        }
    }

    /**
     * Shifted copies of one row-major matrix side by side: B[p, t * seg + q] = b[off + (p + taps[t]) * row + q]
     * for q in [0, seg). A stride-1 filter gradient reads its transposed input so, one shift per filter tap.
     */
    record ShiftedColumns(float[] b, int off, int row, int[] taps, int seg) implements Operand {
        @Override
        public void pack(int pc, int kc, int jc, int nc, float[][] panel) {
            for (int t = jc / seg; t < taps.length && t * seg < jc + nc; t++) {
                int q0 = Math.max(jc, t * seg) - t * seg, q1 = Math.min(jc + nc, (t + 1) * seg) - t * seg;
                int dst = t * seg + q0 - jc;
                for (int p = 0; p < kc; p++) System.arraycopy(b, off + (pc + p + taps[t]) * row + q0, panel[p], dst, q1 - q0);
            }
        }
    }

    /** Rows gathered from anywhere: B[p, j] = b[off + rows[p] + j]. A stride-1 convolution reads its padded input so. */
    record GatheredRows(float[] b, int off, int[] rows) implements Operand {
        @Override
        public void pack(int pc, int kc, int jc, int nc, float[][] panel) {
            for (int p = 0; p < kc; p++) System.arraycopy(b, off + rows[pc + p] + jc, panel[p], 0, nc);
        }
    }

    /**
     * A[i, p] = a[aOff + i * aRow + p * aCol]; B[p, j] = b[bOff + p * bRow + j * bCol];
     * C[i, j] = c[cOff + i * ldc + j].
     */
    static void gemm(int m, int n, int k,
                     float[] a, int aOff, int aRow, int aCol,
                     float[] b, int bOff, int bRow, int bCol,
                     float[] c, int cOff, int ldc, boolean accumulate, Scratch scratch, int worker) {
        gemm(m, n, k, a, aOff, aRow, aCol, new Strided(b, bOff, bRow, bCol), c, cOff, ldc, accumulate, scratch, worker);
    }

    /** As above with B given by an {@link Operand}. */
    static void gemm(int m, int n, int k, float[] a, int aOff, int aRow, int aCol, Operand b,
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
                b.pack(pc, kc, jc, nc, panel);
                int i = 0;
                for (; i + 2 <= m; i += 2) {
                    rowPairUpdate(a, aOff + i * aRow + pc * aCol, aRow, aCol, panel, kc, nc, acc[i], acc[i + 1]);
                }
                if (i < m) rowUpdate(a, aOff + i * aRow + pc * aCol, aCol, panel, kc, nc, acc[i]);
            }
            for (int i = 0; i < m; i++) System.arraycopy(acc[i], 0, c, cOff + i * ldc + jc, nc);
        }
    }

    /**
     * Two rows of C at once, sharing the loads of the panel (about 1.4 times the speed of one
     * row at a time); each element takes exactly the operations {@link #rowUpdate} would apply.
     */
    private static void rowPairUpdate(float[] a, int aOff, int aRow, int aCol, float[][] panel, int kc, int nc, float[] acc0, float[] acc1) {
        int p = 0;
        for (; p + 4 <= kc; p += 4) {
            int o = aOff + p * aCol;
            float a00 = a[o], a01 = a[o + aCol], a02 = a[o + 2 * aCol], a03 = a[o + 3 * aCol];
            o += aRow;
            float a10 = a[o], a11 = a[o + aCol], a12 = a[o + 2 * aCol], a13 = a[o + 3 * aCol];
            float[] b0 = panel[p], b1 = panel[p + 1], b2 = panel[p + 2], b3 = panel[p + 3];
            for (int j = 0; j < nc; j++) {
                float x0 = b0[j], x1 = b1[j], x2 = b2[j], x3 = b3[j];
                acc0[j] = Math.fma(a03, x3, Math.fma(a02, x2, Math.fma(a01, x1, Math.fma(a00, x0, acc0[j]))));
                acc1[j] = Math.fma(a13, x3, Math.fma(a12, x2, Math.fma(a11, x1, Math.fma(a10, x0, acc1[j]))));
            }
        }
        for (; p < kc; p++) {
            float a0 = a[aOff + p * aCol], a1 = a[aOff + aRow + p * aCol];
            float[] b0 = panel[p];
            for (int j = 0; j < nc; j++) {
                acc0[j] = Math.fma(a0, b0[j], acc0[j]);
                acc1[j] = Math.fma(a1, b0[j], acc1[j]);
            }
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
