package org.densenet.engine.cpu;

/**
 * Per-worker scratch arrays that grow on demand and are kept between calls (im2col columns,
 * packed GEMM panels), so the hot path allocates nothing. Slot numbers keep buffers that are
 * live at the same time apart.
 */
final class Scratch {
    static final int SLOTS = 4;
    private final float[][][] f32;
    private final double[][][] f64;

    Scratch(int workers) {
        f32 = new float[workers][SLOTS][];
        f64 = new double[workers][SLOTS][];
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
