package org.densenet.train.data;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * PIL's bilinear resize of 8-bit images (ImagingResample, Pillow 9.4's Resample.c), which
 * torchvision's transforms call: a triangle filter whose support widens when shrinking, so that
 * downscaling a large photo averages its pixels instead of aliasing; coefficients computed in double
 * and rounded to 22-bit fixed point; a horizontal pass over only the source rows the vertical taps
 * read, rounded to 8 bits, then the vertical pass, rounded again. Same arithmetic, same order: the
 * same bytes as PIL. Reads planar or interleaved pixels; writes planes, mirrored when asked.
 */
final class Resample {
    /** PIL's PRECISION_BITS: 32 - 8 bits of the value - 2 bits of headroom for the sum. */
    static final int PRECISION_BITS = 32 - 8 - 2;
    private static final int HALF = 1 << (PRECISION_BITS - 1);

    private Resample() {
    }

    /** Filter taps of one axis: output o reads {@code count[o]} inputs from {@code start[o]}, with fixed-point weights at o * taps. */
    record Taps(int[] start, int[] count, int[] weight, int taps) {
        int outputs() {
            return start.length;
        }
    }

    /**
     * PIL's precompute_coeffs then normalize_coeffs_8bpc for outputs [first, first + n) of a resize to
     * {@code outSize} of the span [in0, in1) of an axis of {@code inSize} pixels, which start at source
     * pixel {@code lo}: taps reach no pixel outside [lo, lo + inSize).
     */
    static Taps taps(int lo, int inSize, double in0, double in1, int outSize, int first, int n) {
        if (inSize < 1 || outSize < 1 || n < 1 || first < 0 || first + n > outSize) {
            throw new IllegalArgumentException("no resize of " + inSize + " pixels to outputs [" + first + ", " + (first + n)
                    + ") of " + outSize);
        }
        double scale = (in1 - in0) / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filterScale;  // the triangle's support is 1 at unit scale
        int taps = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[n], count = new int[n], weight = new int[n * taps];
        double[] k = new double[taps];
        double ss = 1.0 / filterScale;
        for (int o = 0; o < n; o++) {
            double center = in0 + (first + o + 0.5) * scale;
            int xmin = Math.max(0, (int) (center - support + 0.5));  // (int) truncates as C's cast does
            int xmax = Math.min(inSize, (int) (center + support + 0.5));
            if (xmax <= xmin) {  // a span reaching past the pixels (a reduced decode's edge): the nearest pixel
                xmin = Math.min(Math.max(0, (int) center), inSize - 1);
                xmax = xmin + 1;
            }
            xmax = Math.min(xmax - xmin, taps);
            double ww = 0;
            for (int x = 0; x < xmax; x++) {
                double w = triangle((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                double w = ww != 0 ? k[x] / ww : k[x];
                weight[o * taps + x] = w < 0 ? (int) (-0.5 + w * (1 << PRECISION_BITS)) : (int) (0.5 + w * (1 << PRECISION_BITS));
            }
            start[o] = lo + xmin;
            count[o] = xmax;
        }
        return new Taps(start, count, weight, taps);
    }

    private static double triangle(double x) {
        x = Math.abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    /**
     * Resizes {@code src} through the taps of each axis and writes the [C, ty.outputs(), tx.outputs()]
     * result at dst[offset...], each row mirrored when {@code flip}.
     */
    static void resize(Pixels src, Taps tx, Taps ty, boolean flip, byte[] dst, int offset) {
        int outW = tx.outputs(), outH = ty.outputs(), channels = src.channels();
        int rowLo = ty.start()[0], rowHi = ty.start()[outH - 1] + ty.count()[outH - 1];
        for (int o = 0; o < outH; o++) {  // PIL takes the first and last outputs' rows; with clamped spans take them all
            rowLo = Math.min(rowLo, ty.start()[o]);
            rowHi = Math.max(rowHi, ty.start()[o] + ty.count()[o]);
        }
        int rows = rowHi - rowLo, len = outW * channels;
        Scratch s = SCRATCH.get();
        int[][] tmp = s.rows(rows, len);
        horizontal(src, tx, rowLo, rows, tmp);
        vertical(tmp, rowLo, ty, len, s.acc(len), channels, flip, dst, offset);
    }

    /** One thread's buffers, kept between calls: the horizontal pass's rows, the vertical pass's sums. */
    private static final class Scratch {
        int[][] rows = new int[0][];
        int[] acc = new int[0];

        int[][] rows(int n, int len) {
            if (rows.length < n || (n > 0 && rows[0].length < len)) {
                int m = Math.max(n, rows.length), l = Math.max(len, rows.length > 0 ? rows[0].length : 0);
                rows = new int[m][l];
            }
            return rows;
        }

        int[] acc(int len) {
            if (acc.length < len) acc = new int[len];
            return acc;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Source rows [rowLo, rowLo + rows) resized along x into tmp[r] as interleaved channels, rounded
     * to 8 bits as PIL stores them, kept as ints: the vertical pass's loops then read and write
     * arrays of one type at one index, the form the JIT vectorises (it does not widen bytes there).
     */
    static void horizontal(Pixels src, Taps tx, int rowLo, int rows, int[][] tmp) {
        byte[] px = src.pixels();
        int outW = tx.outputs(), taps = tx.taps(), channels = src.channels();
        int pix = src.pixelStride(), ch = src.channelStride(), rowStride = src.width() * pix;
        int[] start = tx.start(), count = tx.count(), weight = tx.weight();
        for (int r = 0; r < rows; r++) {
            int row = (rowLo + r) * rowStride;
            int[] t = tmp[r];
            if (channels == 3 && pix == 3 && row + rowStride + 8 <= px.length) {
                packedRgbRow(px, row, start, count, weight, taps, outW, t);
            } else if (channels == 3) {
                for (int ox = 0, at = 0; ox < outW; ox++, at += 3) {
                    int s = row + start[ox] * pix, n = count[ox], kb = ox * taps;
                    int a0 = HALF, a1 = HALF, a2 = HALF;
                    for (int i = 0; i < n; i++, s += pix) {
                        int k = weight[kb + i];
                        a0 += (px[s] & 0xFF) * k;
                        a1 += (px[s + ch] & 0xFF) * k;
                        a2 += (px[s + 2 * ch] & 0xFF) * k;
                    }
                    t[at] = clip(a0);
                    t[at + 1] = clip(a1);
                    t[at + 2] = clip(a2);
                }
            } else {
                for (int c = 0; c < channels; c++) {
                    for (int ox = 0; ox < outW; ox++) {
                        int s = row + c * ch + start[ox] * pix, n = count[ox], kb = ox * taps;
                        int a = HALF;
                        for (int i = 0; i < n; i++, s += pix) a += (px[s] & 0xFF) * weight[kb + i];
                        t[ox * channels + c] = clip(a);
                    }
                }
            }
        }
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * One row of interleaved RGB (at px[row...], with at least 8 bytes readable past the row's end) resized
     * along x into t. The usual tap counts, 2 and 3, read their 6 or 9 bytes with one 8-byte load (and one
     * byte): fewer loads and bounds checks than a byte at a time, which is most of this loop's time.
     */
    private static void packedRgbRow(byte[] px, int row, int[] start, int[] count, int[] weight, int taps, int outW, int[] t) {
        for (int ox = 0, at = 0; ox < outW; ox++, at += 3) {
            int s = row + start[ox] * 3, n = count[ox], kb = ox * taps;
            int a0 = HALF, a1 = HALF, a2 = HALF;
            if (n == 2 || n == 3) {
                long v = (long) LONGS.get(px, s);  // R0 G0 B0 R1 G1 B1 R2 G2, little-endian
                int k0 = weight[kb], k1 = weight[kb + 1];
                a0 += (int) (v & 0xFF) * k0 + (int) (v >>> 24 & 0xFF) * k1;
                a1 += (int) (v >>> 8 & 0xFF) * k0 + (int) (v >>> 32 & 0xFF) * k1;
                a2 += (int) (v >>> 16 & 0xFF) * k0 + (int) (v >>> 40 & 0xFF) * k1;
                if (n == 3) {
                    int k2 = weight[kb + 2];
                    a0 += (int) (v >>> 48 & 0xFF) * k2;
                    a1 += (int) (v >>> 56) * k2;
                    a2 += (px[s + 8] & 0xFF) * k2;
                }
            } else {
                for (int i = 0; i < n; i++, s += 3) {
                    int k = weight[kb + i];
                    a0 += (px[s] & 0xFF) * k;
                    a1 += (px[s + 1] & 0xFF) * k;
                    a2 += (px[s + 2] & 0xFF) * k;
                }
            }
            t[at] = a0;
            t[at + 1] = a1;
            t[at + 2] = a2;
        }
        for (int x = 0; x < 3 * outW; x++) t[x] = clip(t[x]);  // apart from the sums: a loop the JIT vectorises
    }

    /** The vertical pass over the rows of {@link #horizontal}, each output row rounded, then split into planes (mirrored when asked). */
    static void vertical(int[][] tmp, int rowLo, Taps ty, int len, int[] acc, int channels, boolean flip, byte[] dst, int offset) {
        int outH = ty.outputs(), taps = ty.taps(), outW = len / channels, plane = outH * outW;
        int[] start = ty.start(), count = ty.count(), weight = ty.weight();
        for (int oy = 0; oy < outH; oy++) {
            int r = start[oy] - rowLo, n = count[oy], kb = oy * taps;
            // Whole rows at a time, each output still summing its taps in order; same index in every array, so vectorised.
            int[] row = tmp[r];
            int k = weight[kb];
            for (int x = 0; x < len; x++) acc[x] = HALF + row[x] * k;
            for (int i = 1; i < n; i++) {
                row = tmp[r + i];
                k = weight[kb + i];
                for (int x = 0; x < len; x++) acc[x] += row[x] * k;
            }
            for (int x = 0; x < len; x++) acc[x] = clip(acc[x]);
            int o = offset + oy * outW;
            for (int c = 0; c < channels; c++, o += plane) {
                if (flip) {
                    for (int x = 0, i = c; x < outW; x++, i += channels) dst[o + outW - 1 - x] = (byte) acc[i];
                } else {
                    for (int x = 0, i = c; x < outW; x++, i += channels) dst[o + x] = (byte) acc[i];
                }
            }
        }
    }

    /** PIL's clip8 as an int: a fixed-point sum (with its half already added) to 8 bits, clamped to [0, 255]. */
    private static int clip(int v) {
        return Math.min(255, Math.max(0, v >> PRECISION_BITS));
    }

    /** PIL's clip8: a fixed-point sum (with its half already added) to 8 bits, clamped to [0, 255]. */
    static byte clip8(int v) {
        return (byte) clip(v);
    }
}
