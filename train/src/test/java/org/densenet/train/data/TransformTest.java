package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TransformTest {
    private static final Image IMG = new Image(3, 32, 32, TestData.randomPixels(1, 3 * 32 * 32, 5));

    /** Reference C10+ for one choice of shift and flip, straight from the definition. */
    private static float[] reference(int dy, int dx, boolean flip, Normalization n) {
        float[] out = new float[3 * 32 * 32];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    int sx = (flip ? 31 - x : x) + dx, sy = y + dy;
                    double p = sx < 0 || sy < 0 || sx >= 32 || sy >= 32 ? 0 : IMG.at(c, sy, sx);
                    out[(c * 32 + y) * 32 + x] = (float) ((p / 255.0 - n.mean()[c]) / n.std()[c]);
                }
            }
        }
        return out;
    }

    @Test
    void evalTransformIsPlainNormalisation() {
        float[] got = new float[3 * 32 * 32];
        PadCropFlip.eval(3, 32, Normalization.CIFAR10).apply(IMG, 123, got, 0);
        float[] want = reference(0, 0, false, Normalization.CIFAR10);
        for (int i = 0; i < got.length; i++) assertEquals(want[i], got[i], 1e-5, "element " + i);
    }

    @Test
    void padCropFlipIsOneOfThe162ShiftsAndFlipsAndCoversThemAll() {
        PadCropFlip t = new PadCropFlip(3, 32, 32, 4, true, Normalization.CIFAR10);
        Set<String> seen = new HashSet<>();
        float[] got = new float[3 * 32 * 32];
        float[][] refs = new float[162][];
        for (int i = 0; i < 162; i++) refs[i] = reference(i / 18 - 4, i / 2 % 9 - 4, i % 2 == 1, Normalization.CIFAR10);
        for (int k = 0; k < 3000; k++) {
            long key = Transform.key(7, 0, k);
            t.apply(IMG, key, got, 0);
            String match = null;
            for (int i = 0; i < 162 && match == null; i++) {
                if (close(refs[i], got)) match = "shift " + (i / 18 - 4) + "," + (i / 2 % 9 - 4) + " flip " + (i % 2);
            }
            assertTrue(match != null, "sample " + k + " is no padded crop of the image");
            seen.add(match);
            float[] again = new float[got.length];
            t.apply(IMG, key, again, 0);
            assertArrayEquals(got, again, "same key, same augmentation");
        }
        assertEquals(162, seen.size(), "every shift and flip appears in 3000 draws");
    }

    private static boolean close(float[] a, float[] b) {
        for (int i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-4) return false;
        return true;
    }

    @Test
    void resampleAtUnitScaleCopiesAndShrinkingAverages() {
        float[] out = new float[3 * 32 * 32];
        Normalization raw = new Normalization(new double[] {0}, new double[] {1.0 / 255});  // output = pixel value
        Resample.cropResize(IMG, 0, 0, 32, 32, 32, 32, false, raw.forChannels(3), out, 0);
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 32 * 32; i++) assertEquals(IMG.at(c, i / 32, i % 32), out[c * 1024 + i], 1e-3);
        }
        // A 2x2 checkerboard of 0 and 200 shrunk 4x is its mean.
        byte[] px = new byte[3 * 64 * 64];
        for (int i = 0; i < px.length; i++) px[i] = (byte) ((((i % 64) + (i / 64)) & 1) == 0 ? 200 : 0);
        float[] small = new float[3 * 16 * 16];
        Resample.cropResize(new Image(3, 64, 64, px), 0, 0, 64, 64, 16, 16, false, raw.forChannels(3), small, 0);
        for (int i = 0; i < small.length; i++) assertEquals(100, small[i], 12, "element " + i);
    }

    @Test
    void imagenetTransformsProduceTheirSizeFromAnyShape() {
        Image photo = new Image(3, 300, 451, TestData.randomPixels(1, 3 * 300 * 451, 8));
        float[] out = new float[3 * 224 * 224];
        Arrays.fill(out, Float.NaN);
        new ResizeCenterCrop(256, 224, Normalization.IMAGENET).apply(photo, 0, out, 0);
        for (float v : out) assertTrue(Float.isFinite(v) && Math.abs(v) < 3, "value " + v);
        Arrays.fill(out, Float.NaN);
        RandomResizedCrop rrc = new RandomResizedCrop(224, 0.08, Normalization.IMAGENET);
        for (int k = 0; k < 20; k++) {
            rrc.apply(photo, Transform.key(1, 0, k), out, 0);
            for (float v : out) assertTrue(Float.isFinite(v), "value " + v);
        }
    }
}
