package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.OpTesting.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The blocked GEMM against a plain triple loop in double, for sizes that straddle the KC and
 * NC blocks, every combination of transposed operands, offsets, leading dimensions and
 * accumulation, and the row-shifted B of the stride-1 filter gradient.
 */
class GemmTest {
    private final Random rng = new Random(11);

    private float[] randomF(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rng.nextFloat() * 2 - 1;
        return a;
    }

    @ParameterizedTest(name = "m {0} n {1} k {2} transA {3} transB {4} accumulate {5}")
    @CsvSource({"1,1,1,false,false,false", "7,600,70,false,false,true", "13,37,130,true,false,false", "5,1030,33,false,true,true",
            "33,513,31,true,true,false", "3,5,257,true,true,true"})
    void matchesTheTripleLoopInBothPrecisions(int m, int n, int k, boolean transA, boolean transB, boolean accumulate) {
        int aOff = 3, bOff = 5, cOff = 2, ldc = n + 4;
        float[] a = randomF(aOff + m * k), b = randomF(bOff + k * n), c = randomF(cOff + m * ldc);
        int aRow = transA ? 1 : k, aCol = transA ? m : 1, bRow = transB ? 1 : n, bCol = transB ? k : 1;
        double[] expected = new double[c.length];
        for (int i = 0; i < c.length; i++) expected[i] = c[i];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = accumulate ? c[cOff + i * ldc + j] : 0;
                for (int p = 0; p < k; p++) s += (double) a[aOff + i * aRow + p * aCol] * b[bOff + p * bRow + j * bCol];
                expected[cOff + i * ldc + j] = s;
            }
        }
        double[] a64 = widen(a), b64 = widen(b), c64 = widen(c);
        Scratch scratch = new Scratch(1);
        GemmF32.gemm(m, n, k, a, aOff, aRow, aCol, b, bOff, bRow, bCol, c, cOff, ldc, accumulate, scratch, 0);
        GemmF64.gemm(m, n, k, a64, aOff, aRow, aCol, b64, bOff, bRow, bCol, c64, cOff, ldc, accumulate, scratch, 0);
        assertClose("float32 gemm", expected, widen(c), 1e-5);
        assertClose("float64 gemm", expected, c64, 1e-13);
        assertEquals(expected[0], c64[0], "elements before C are untouched");
    }

    @ParameterizedTest(name = "taps {0} segment {1}")
    @CsvSource({"9,48", "9,60", "1,600", "4,200"})
    void rowShiftedOperandIsReadAsShiftedCopies(int taps, int seg) {
        int m = 6, k = 70, rows = k + 3 * taps;
        int[] shift = new int[taps];
        for (int t = 0; t < taps; t++) shift[t] = (t * 7) % (3 * taps + 1);
        float[] a = randomF(m * k), x = randomF(rows * seg), c = randomF(m * taps * seg);
        Scratch scratch = new Scratch(1);
        GemmF32.gemm(m, taps * seg, k, a, 0, k, 1, new GemmF32.ShiftedColumns(x, 0, seg, shift, seg), c, 0, taps * seg, false, scratch, 0);
        double[] expected = new double[c.length];
        for (int i = 0; i < m; i++) {
            for (int t = 0; t < taps; t++) {
                for (int q = 0; q < seg; q++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double) a[i * k + p] * x[(p + shift[t]) * seg + q];
                    expected[i * taps * seg + t * seg + q] = s;
                }
            }
        }
        assertClose("shifted gemm", expected, widen(c), 1e-5);
    }

    private static double[] widen(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
