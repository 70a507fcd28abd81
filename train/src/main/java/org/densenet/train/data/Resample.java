package org.densenet.train.data;

import java.util.Arrays;

/**
 * Crops a box of an image (source pixel coordinates, fractional) and resizes it with a triangle
 * filter whose support widens when shrinking, as PIL's bilinear resize does, so that downscaling
 * a large photo averages its pixels instead of aliasing. Then flips, and rounds to 8 bits as PIL
 * does (half up, clamped to [0, 255]; PIL also rounds between its two passes, which this keeps in
 * float).
 */
final class Resample {
    private Resample() {
    }

    /** Filter taps of one axis: output o reads {@code count[o]} inputs from {@code start[o]} with weights at o * taps. */
    private record Taps(int[] start, int[] count, float[] weight, int taps) {
    }

    private static Taps taps(double inStart, double inLen, int inSize, int outSize) {
        double scale = inLen / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filterScale;  // triangle filter has support 1 at unit scale
        int taps = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[outSize], count = new int[outSize];
        float[] weight = new float[outSize * taps];
        for (int o = 0; o < outSize; o++) {
            double center = inStart + (o + 0.5) * scale;
            int lo = Math.max(0, (int) Math.floor(center - support));
            int hi = Math.min(inSize, (int) Math.ceil(center + support));
            if (hi <= lo) {  // box outside the image: clamp to the nearest pixel
                lo = Math.min(Math.max(0, (int) Math.floor(center)), inSize - 1);
                hi = lo + 1;
            }
            hi = Math.min(hi, lo + taps);
            double sum = 0;
            for (int i = lo; i < hi; i++) {
                double w = Math.max(0.0, 1.0 - Math.abs((i + 0.5 - center) / filterScale));
                weight[o * taps + i - lo] = (float) w;
                sum += w;
            }
            if (sum <= 0) {
                weight[o * taps] = 1f;
                hi = lo + 1;
                sum = 1;
            }
            for (int i = lo; i < hi; i++) weight[o * taps + i - lo] /= (float) sum;
            start[o] = lo;
            count[o] = hi - lo;
        }
        return new Taps(start, count, weight, taps);
    }

    /**
     * Writes the box (x0, y0, w, h) of {@code src}, resized to outH x outW, mirrored when {@code flip},
     * as 8-bit [C, outH, outW] at dst[offset...].
     */
    static void cropResize(Image src, double x0, double y0, double w, double h, int outH, int outW, boolean flip,
                           byte[] dst, int offset) {
        int sw = src.width(), sh = src.height();
        Taps tx = taps(x0, w, sw, outW);
        Taps ty = taps(y0, h, sh, outH);
        int rowLo = Integer.MAX_VALUE, rowHi = 0;
        for (int o = 0; o < outH; o++) {
            rowLo = Math.min(rowLo, ty.start()[o]);
            rowHi = Math.max(rowHi, ty.start()[o] + ty.count()[o]);
        }
        int rows = rowHi - rowLo;
        float[] tmp = new float[rows * outW];  // horizontally resized rows of one channel
        float[] sums = new float[outW];  // one output row of one channel
        byte[] px = src.pixels();
        for (int c = 0; c < src.channels(); c++) {
            int plane = c * sh * sw;
            for (int r = 0; r < rows; r++) {
                int row = plane + (rowLo + r) * sw;
                for (int o = 0; o < outW; o++) {
                    int s = tx.start()[o], n = tx.count()[o], wb = o * tx.taps();
                    float acc = 0;
                    for (int i = 0; i < n; i++) acc += (px[row + s + i] & 0xFF) * tx.weight()[wb + i];
                    tmp[r * outW + o] = acc;
                }
            }
            int outPlane = offset + c * outH * outW;
            for (int oy = 0; oy < outH; oy++) {
                int s = ty.start()[oy] - rowLo, n = ty.count()[oy], wb = oy * ty.taps();
                // Whole rows at a time (contiguous, so the JIT vectorises them); each output still sums its taps in order.
                Arrays.fill(sums, 0f);
                for (int i = 0; i < n; i++) {
                    float wgt = ty.weight()[wb + i];
                    int row = (s + i) * outW;
                    for (int ox = 0; ox < outW; ox++) sums[ox] += tmp[row + ox] * wgt;
                }
                int o = outPlane + oy * outW;
                if (flip) {
                    for (int ox = 0; ox < outW; ox++) dst[o + outW - 1 - ox] = toByte(sums[ox]);
                } else {
                    for (int ox = 0; ox < outW; ox++) dst[o + ox] = toByte(sums[ox]);
                }
            }
        }
    }

    /** v rounded half up and clamped to [0, 255], as PIL's 8-bit resampling stores a sum. */
    static byte toByte(float v) {
        return (byte) (int) Math.min(255f, Math.max(0f, v + 0.5f));
    }
}
