package org.densenet.engine.cuda.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The row-major to column-major mapping of the linear layer's GEMMs, checked by running each
 * {@link GemmCall} through a column-major SGEMM with cuBLAS's semantics on the CPU.
 */
class GemmCallTest {
    private final Random rng = new Random(7);

    /** cuBLAS's SGEMM in plain Java: C = alpha op(A) op(B) + beta C, column-major with leading dimensions. */
    static void sgemm(GemmCall g, float alpha, float[] a, float[] b, float beta, float[] c) {
        for (int j = 0; j < g.n(); j++) {
            for (int i = 0; i < g.m(); i++) {
                double s = 0;
                for (int p = 0; p < g.k(); p++) {
                    float av = g.transA() == Cublas.OP_N ? a[i + p * g.lda()] : a[p + i * g.lda()];
                    float bv = g.transB() == Cublas.OP_N ? b[p + j * g.ldb()] : b[j + p * g.ldb()];
                    s += (double) av * bv;
                }
                c[i + j * g.ldc()] = (float) (alpha * s + beta * c[i + j * g.ldc()]);
            }
        }
    }

    private float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rng.nextFloat() * 2 - 1;
        return v;
    }

    private static void close(double expected, float actual) {
        assertEquals(expected, actual, 1e-5 * Math.max(1, Math.abs(expected)));
    }

    @Test
    void linearForwardIsXTimesWTransposedPlusBias() {
        int n = 3, f = 5, o = 4;
        float[] x = random(n * f), w = random(o * f), bias = random(o), ones = {1, 1, 1};
        float[] y = random(n * o); // garbage that beta = 0 must ignore
        sgemm(GemmCall.rowMajor(false, true, n, o, f), 1, w, x, 0, y);
        sgemm(GemmCall.rowMajor(false, false, n, o, 1), 1, bias, ones, 1, y);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < o; j++) {
                double s = bias[j];
                for (int p = 0; p < f; p++) s += (double) x[i * f + p] * w[j * f + p];
                close(s, y[i * o + j]);
            }
        }
    }

    @Test
    void linearBackwardGivesDxDwDb() {
        int n = 6, f = 3, o = 2;
        float[] x = random(n * f), w = random(o * f), dy = random(n * o), ones = {1, 1, 1, 1, 1, 1};
        float[] dx = random(n * f), dw = random(o * f), db = random(o);
        sgemm(GemmCall.rowMajor(false, false, n, f, o), 1, w, dy, 0, dx);   // dx = dy w
        sgemm(GemmCall.rowMajor(true, false, o, f, n), 1, x, dy, 0, dw);    // dw = dy^T x
        sgemm(GemmCall.rowMajor(false, false, 1, o, n), 1, dy, ones, 0, db); // db = 1^T dy
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < f; p++) {
                double s = 0;
                for (int j = 0; j < o; j++) s += (double) dy[i * o + j] * w[j * f + p];
                close(s, dx[i * f + p]);
            }
        }
        for (int j = 0; j < o; j++) {
            double sb = 0;
            for (int i = 0; i < n; i++) sb += dy[i * o + j];
            close(sb, db[j]);
            for (int p = 0; p < f; p++) {
                double s = 0;
                for (int i = 0; i < n; i++) s += (double) dy[i * o + j] * x[i * f + p];
                close(s, dw[j * f + p]);
            }
        }
    }

    @Test
    void leadingDimensionsAreValidated() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new GemmCall(Cublas.OP_N, Cublas.OP_N, 4, 2, 3, 3, 3, 4));
        assertEquals(true, e.getMessage().contains("leading dimensions"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new GemmCall(Cublas.OP_N, Cublas.OP_N, 0, 2, 3, 3, 3, 4));
    }

    @Test
    void perfStructMatchesCudnnsLayout() {
        assertEquals(48, Cudnn.ALGO_PERF.byteSize());
        assertEquals(0, Cudnn.PERF_ALGO);
        assertEquals(4, Cudnn.PERF_STATUS);
        assertEquals(8, Cudnn.PERF_TIME);
        assertEquals(16, Cudnn.PERF_MEMORY);
        assertEquals(28, Cudnn.PERF_MATH_TYPE);
    }
}
