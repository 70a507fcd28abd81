package org.densenet.engine.cpu;

/**
 * Per-worker scratch arrays that grow on demand and are kept between calls (im2col columns,
 * packed GEMM panels), so the hot path allocates nothing. Flat buffers and row sets have their
 * own slots per precision; slot numbers keep buffers that are live at the same time apart
 * (GEMM: row sets 0 and 1; convolution: flat 0, 1 and worker 0's 3; batch norm: double flat
 * 0 to 2 and row set 2). Ops run one at a time, so different ops may reuse a slot.
 */
final class Scratch {
    static final int SLOTS = 4;
    private final float[][][] f32;
    private final double[][][] f64;
    private final float[][][][] rowsF32;
    private final double[][][][] rowsF64;

    Scratch(int workers) {
        f32 = new float[workers][SLOTS][];
        f64 = new double[workers][SLOTS][];
        rowsF32 = new float[workers][SLOTS][][];
        rowsF64 = new double[workers][SLOTS][][];
    }

    /** At least {@code rows} separate arrays of at least {@code len} elements each. */
    float[][] rowsF32(int worker, int slot, int rows, int len) {
        float[][] r = rowsF32[worker][slot];
        if (r == null || r.length < rows || r[0].length < len) {
            rowsF32[worker][slot] = r = new float[Math.max(rows, r == null ? 0 : r.length)][Math.max(len, r == null ? 0 : r[0].length)];
        }
        return r;
    }

    double[][] rowsF64(int worker, int slot, int rows, int len) {
        double[][] r = rowsF64[worker][slot];
        if (r == null || r.length < rows || r[0].length < len) {
            rowsF64[worker][slot] = r = new double[Math.max(rows, r == null ? 0 : r.length)][Math.max(len, r == null ? 0 : r[0].length)];
        }
        return r;
    }

    float[] bufF32(int worker, int slot, int size) {
        float[] a = f32[worker][slot];
        if (a == null || a.length < size) f32[worker][slot] = a = new float[size];
        return a;
    }

    double[] bufF64(int worker, int slot, int size) {
        double[] a = f64[worker][slot];
        if (a == null || a.length < size) f64[worker][slot] = a = new double[size];
        return a;
    }
}
