package org.densenet.engine.cuda.kernels;

import org.densenet.engine.CounterRng;
import org.densenet.engine.ImageNormalization;

/**
 * The CPU twin of augment.cu, written the same way step by step so the two produce the same floats
 * bit for bit: the GPU tests compare against it, and a CPU data loader may use it directly.
 */
public final class AugmentReference {
    private AugmentReference() {
    }

    /** Vertical crop offset in [0, 2 * pad] from bits 40..63 of the sample's random word. */
    public static int offsetY(long bits, int pad) {
        return (int) ((((bits >>> 40) & 0xFFFFFFL) * (2L * pad + 1)) >>> 24);
    }

    /** Horizontal crop offset in [0, 2 * pad] from bits 16..39. */
    public static int offsetX(long bits, int pad) {
        return (int) ((((bits >>> 16) & 0xFFFFFFL) * (2L * pad + 1)) >>> 24);
    }

    /** Whether the sample is flipped: bit 0, when flipping is on. */
    public static boolean flipped(long bits, boolean flip) {
        return flip && (bits & 1L) != 0;
    }

    /**
     * dst [n, c, h, w] (dense) from uint8 src [n, c, h, w] or [n, h, w, c] (nhwc); sample s draws
     * CounterRng.bits(seed, firstIndex + s).
     */
    public static void cropFlipNormalize(byte[] src, boolean nhwc, int n, int c, int h, int w, Augmentation aug,
                                         long seed, long firstIndex, float[] dst) {
        AugmentKernels.checkBatch(n, c, h, w, aug);
        long plane = (long) h * w, total = n * plane * c;
        if (src.length < total || dst.length < total) {
            throw new IllegalArgumentException("augment: a batch of " + n + "x" + c + "x" + h + "x" + w + " needs " + total
                    + " elements, src has " + src.length + ", dst " + dst.length);
        }
        ImageNormalization norm = aug.norm();
        for (int s = 0; s < n; s++) {
            long bits = CounterRng.bits(seed, firstIndex + s);
            int offY = offsetY(bits, aug.pad()), offX = offsetX(bits, aug.pad());
            boolean flipped = flipped(bits, aug.flip());
            int img = (int) (s * plane * c);
            for (int ch = 0; ch < c; ch++) {
                int out = (int) ((s * (long) c + ch) * plane);
                for (int y = 0; y < h; y++) {
                    int sy = y + offY - aug.pad();
                    for (int x = 0; x < w; x++) {
                        int sx = (flipped ? w - 1 - x : x) + offX - aug.pad();
                        int v = 0;
                        if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
                            int pix = sy * w + sx;
                            v = Byte.toUnsignedInt(src[img + (nhwc ? pix * c + ch : ch * (int) plane + pix)]);
                        }
                        dst[out + y * w + x] = norm.apply(v, ch);
                    }
                }
            }
        }
    }
}
