package org.densenet.engine.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.densenet.engine.CounterRng;
import org.junit.jupiter.api.Test;

class AugmentReferenceTest {
    private static final float[] MEAN = {0.4914f, 0.4822f, 0.4465f};
    private static final float[] STD = {0.2470f, 0.2435f, 0.2616f};

    private static byte[] randomImages(int count, long seed) {
        byte[] b = new byte[count];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void offsetsCoverExactlyZeroToTwicePadUniformly() {
        int pad = 4;
        int[] hitsY = new int[2 * pad + 1], hitsX = new int[2 * pad + 1];
        int flips = 0, draws = 90_000;
        for (int i = 0; i < draws; i++) {
            long bits = CounterRng.bits(123, i);
            hitsY[AugmentReference.offsetY(bits, pad)]++;
            hitsX[AugmentReference.offsetX(bits, pad)]++;
            if (AugmentReference.flipped(bits, true)) flips++;
            assertTrue(!AugmentReference.flipped(bits, false));
        }
        for (int v = 0; v <= 2 * pad; v++) {
            assertEquals(draws / 9.0, hitsY[v], 600, "offsetY " + v);
            assertEquals(draws / 9.0, hitsX[v], 600, "offsetX " + v);
        }
        assertEquals(draws / 2.0, flips, 900);
        assertEquals(0, AugmentReference.offsetY(-1L, 0));
        assertEquals(2 * pad, AugmentReference.offsetY(-1L, pad));   // all-ones bits give the largest offset
    }

    /** The same result computed the long way: build the padded image, cut the crop, mirror it. */
    private static float[] byHand(byte[] nchw, int n, int c, int h, int w, Augmentation aug, long seed, long first) {
        float[] out = new float[n * c * h * w];
        int pad = aug.pad();
        for (int s = 0; s < n; s++) {
            long bits = CounterRng.bits(seed, first + s);
            int oy = AugmentReference.offsetY(bits, pad), ox = AugmentReference.offsetX(bits, pad);
            for (int ch = 0; ch < c; ch++) {
                int[][] padded = new int[h + 2 * pad][w + 2 * pad];
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) padded[y + pad][x + pad] = nchw[((s * c + ch) * h + y) * w + x] & 0xFF;
                }
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        int v = padded[y + oy][x + ox];
                        int xo = AugmentReference.flipped(bits, aug.flip()) ? w - 1 - x : x;
                        out[((s * c + ch) * h + y) * w + xo] = ((float) v / 255.0f - aug.mean()[ch]) / aug.std()[ch];
                    }
                }
            }
        }
        return out;
    }

    @Test
    void cropFlipNormalizeMatchesTheLongWayBitForBit() {
        int n = 6, c = 3, h = 9, w = 7;
        Augmentation aug = new Augmentation(3, true, MEAN, STD);
        byte[] img = randomImages(n * c * h * w, 5);
        float[] dst = new float[img.length];
        java.util.Arrays.fill(dst, Float.NaN);
        AugmentReference.cropFlipNormalize(img, false, n, c, h, w, aug, 99, 1000, dst);
        assertArrayEquals(byHand(img, n, c, h, w, aug, 99, 1000), dst);
    }

    @Test
    void nhwcInputGivesTheSameBatchAsNchw() {
        int n = 3, c = 3, h = 5, w = 6;
        byte[] nchw = randomImages(n * c * h * w, 8);
        byte[] nhwc = new byte[nchw.length];
        for (int s = 0; s < n; s++) {
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < h * w; p++) nhwc[(s * h * w + p) * c + ch] = nchw[(s * c + ch) * h * w + p];
            }
        }
        Augmentation aug = new Augmentation(2, true, MEAN, STD);
        float[] a = new float[nchw.length], b = new float[nchw.length];
        AugmentReference.cropFlipNormalize(nchw, false, n, c, h, w, aug, 3, 0, a);
        AugmentReference.cropFlipNormalize(nhwc, true, n, c, h, w, aug, 3, 0, b);
        assertArrayEquals(a, b);
    }

    @Test
    void normalizeOnlyIsToTensorThenNormalize() {
        byte[] img = {0, (byte) 255, (byte) 128, 7};
        float[] dst = new float[4];
        AugmentReference.cropFlipNormalize(img, false, 1, 1, 2, 2, Augmentation.normalizeOnly(new float[] {0.5f}, new float[] {0.25f}), 1, 0, dst);
        assertArrayEquals(new float[] {-2f, 2f, (128f / 255f - 0.5f) / 0.25f, (7f / 255f - 0.5f) / 0.25f}, dst);
    }

    @Test
    void channelCountMustMatchTheNormalisation() {
        Augmentation gray = Augmentation.normalizeOnly(new float[] {0.5f}, new float[] {0.5f});
        assertThrows(IllegalArgumentException.class, () -> AugmentReference.cropFlipNormalize(new byte[12], false, 1, 3, 2, 2, gray, 1, 0, new float[12]));
        assertThrows(IllegalArgumentException.class, () -> new Augmentation(1, false, new float[] {0f}, new float[] {0f}));
        assertThrows(IllegalArgumentException.class, () -> new Augmentation(1, false, new float[5], new float[5]));
    }
}
