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

    /** Reference C10+ for one choice of shift and flip, straight from the definition: the pixels, zero where padded. */
    private static byte[] reference(int dy, int dx, boolean flip) {
        byte[] out = new byte[3 * 32 * 32];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    int sx = (flip ? 31 - x : x) + dx, sy = y + dy;
                    out[(c * 32 + y) * 32 + x] = (byte) (sx < 0 || sy < 0 || sx >= 32 || sy >= 32 ? 0 : IMG.at(c, sy, sx));
                }
            }
        }
        return out;
    }

    @Test
    void evalTransformPassesThePixelsAndNamesTheNormalisation() {
        byte[] got = new byte[3 * 32 * 32];
        Arrays.fill(got, (byte) 77);
        PadCropFlip t = PadCropFlip.eval(3, 32, Normalization.CIFAR10);
        t.apply(IMG, 123, got, 0);
        assertArrayEquals(IMG.pixels(), got);
        assertArrayEquals(Normalization.CIFAR10.mean(), t.normalization().mean());
        assertArrayEquals(new double[] {0.286, 0.286, 0.286}, PadCropFlip.eval(3, 28, Normalization.FASHION_MNIST).normalization().mean(),
                "a one-channel set's normalisation repeats for every channel");
    }

    @Test
    void padCropFlipIsOneOfThe162ShiftsAndFlipsAndCoversThemAll() {
        PadCropFlip t = new PadCropFlip(3, 32, 32, 4, true, Normalization.CIFAR10);
        Set<String> seen = new HashSet<>();
        byte[] got = new byte[3 * 32 * 32];
        byte[][] refs = new byte[162][];
        for (int i = 0; i < 162; i++) refs[i] = reference(i / 18 - 4, i / 2 % 9 - 4, i % 2 == 1);
        for (int k = 0; k < 3000; k++) {
            long key = Transform.key(7, 0, k);
            t.apply(IMG, key, got, 0);
            String match = null;
            for (int i = 0; i < 162 && match == null; i++) {
                if (Arrays.equals(refs[i], got)) match = "shift " + (i / 18 - 4) + "," + (i / 2 % 9 - 4) + " flip " + (i % 2);
            }
            assertTrue(match != null, "sample " + k + " is no padded crop of the image");
            seen.add(match);
            byte[] again = new byte[got.length];
            t.apply(IMG, key, again, 0);
            assertArrayEquals(got, again, "same key, same augmentation");
        }
        assertEquals(162, seen.size(), "every shift and flip appears in 3000 draws");
    }

    @Test
    void resampleAtUnitScaleCopiesAndShrinkingAveragesAndRoundsHalfUp() {
        byte[] out = new byte[3 * 32 * 32];
        Resample.Taps unit = Resample.taps(0, 32, 0, 32, 32, 0, 32);
        Resample.resize(IMG, unit, unit, false, out, 0);
        assertArrayEquals(IMG.pixels(), out);
        // A 2x2 checkerboard of 0 and 200 shrunk 4x is its mean (within the edges' clamped filters).
        byte[] px = new byte[3 * 64 * 64];
        for (int i = 0; i < px.length; i++) px[i] = (byte) ((((i % 64) + (i / 64)) & 1) == 0 ? 200 : 0);
        byte[] small = new byte[3 * 16 * 16];
        Resample.Taps quarter = Resample.taps(0, 64, 0, 64, 16, 0, 16);
        Resample.resize(new Image(3, 64, 64, px), quarter, quarter, false, small, 0);
        for (int i = 0; i < small.length; i++) assertEquals(100, small[i] & 0xFF, 12, "element " + i);
        // clip8 takes a sum that starts at half a level, as PIL's does: 2.5 levels then become 3.
        int one = 1 << Resample.PRECISION_BITS, half = one / 2;
        assertEquals(3, Resample.clip8(half + 2 * one + half) & 0xFF, "halves round up, as PIL's fixed point does");
        assertEquals(2, Resample.clip8(half + 2 * one + half - 1) & 0xFF);
        assertEquals(0, Resample.clip8(half - 7 * one) & 0xFF);
        assertEquals(255, Resample.clip8(half + 255 * one + half - 1) & 0xFF);
        assertEquals(255, Resample.clip8(half + 300 * one) & 0xFF);
    }

    @Test
    void imagenetTransformsWriteEveryPixelOfTheirSizeFromAnyShape() {
        byte[] grey = new byte[3 * 300 * 451];
        Arrays.fill(grey, (byte) 131);
        Image flat = new Image(3, 300, 451, grey);
        byte[] out = new byte[3 * 224 * 224];
        ResizeCenterCrop eval = new ResizeCenterCrop(256, 224, Normalization.IMAGENET);
        eval.apply(flat, 0, out, 0);
        for (byte v : out) assertEquals(131, v & 0xFF, "a flat image stays flat");
        assertEquals(3, eval.normalization().mean().length);
        RandomResizedCrop rrc = new RandomResizedCrop(224, 0.08, Normalization.IMAGENET);
        Image photo = new Image(3, 300, 451, TestData.randomPixels(1, 3 * 300 * 451, 8));
        Set<Integer> hashes = new HashSet<>();
        for (int k = 0; k < 20; k++) {
            Arrays.fill(out, (byte) 0);
            rrc.apply(flat, Transform.key(1, 0, k), out, 0);
            for (byte v : out) assertEquals(131, v & 0xFF, "crop " + k + " of a flat image");
            rrc.apply(photo, Transform.key(1, 0, k), out, 0);
            hashes.add(Arrays.hashCode(out));
        }
        assertEquals(20, hashes.size(), "twenty keys, twenty different crops");
    }

    @Test
    void interleavedAndPlanarPixelsGiveTheSameCropsAtEveryScale() {
        // The interleaved path reads two and three taps with 8-byte loads, the planar one a byte at a time.
        int H = 300, W = 451;
        Image planar = new Image(3, H, W, TestData.randomPixels(1, 3 * H * W, 11));
        PackedImage packed = PackedImage.of(planar);
        assertArrayEquals(planar.pixels(), packed.planar().pixels(), "packing and unpacking round-trip");
        byte[] a = new byte[3 * 224 * 224], b = new byte[a.length];
        RandomResizedCrop rrc = new RandomResizedCrop(224, 0.08, Normalization.IMAGENET);
        for (int k = 0; k < 40; k++) {
            long key = Transform.key(5, 0, k);
            Arrays.fill(b, (byte) 1);
            rrc.apply(planar, key, a, 0);
            rrc.apply(Decoded.full(packed), key, b, 0);
            assertArrayEquals(a, b, "crop " + k + ": " + rrc.box(W, H, key));
        }
        ResizeCenterCrop eval = new ResizeCenterCrop(256, 224, Normalization.IMAGENET);
        eval.apply(planar, 0, a, 0);
        eval.apply(Decoded.full(packed), 0, b, 0);
        assertArrayEquals(a, b, "centre crop");
    }

    @Test
    void cropTransformsReduceOnlyWhileTheCropKeepsTheOutputsResolution() {
        ResizeCenterCrop eval = new ResizeCenterCrop(256, 224, Normalization.IMAGENET);
        // The centre crop reads 224 * shorter side / 256 source pixels each way: 328 of a 500x375 photo, 656 of 1000x750, 1312 of 2000x1500.
        assertEquals(1, eval.reduction(500, 375, 0));
        assertEquals(2, eval.reduction(1000, 750, 0));
        assertEquals(4, eval.reduction(2000, 1500, 0));
        assertEquals(8, eval.reduction(4000, 3000, 0));
        RandomResizedCrop train = new RandomResizedCrop(224, 0.08, Normalization.IMAGENET);
        int[] seen = new int[9];
        for (int k = 0; k < 2000; k++) {
            long key = Transform.key(3, 0, k);
            int d = train.reduction(1600, 1200, key);
            CropTransform.Box b = train.box(1600, 1200, key);
            assertEquals(224, b.resizedW());
            assertTrue(b.w() / d >= 224 && b.h() / d >= 224, "sample " + k + ": a " + b.w() + "x" + b.h() + " crop at 1/" + d);
            assertTrue(d == 8 || b.w() / (2 * d) < 224 || b.h() / (2 * d) < 224, "sample " + k + ": 1/" + d + " is the smallest that keeps it");
            seen[d]++;
        }
        assertTrue(seen[1] > 0 && seen[2] > 0 && seen[4] > 0, "crops of a 1600x1200 photo take every reduction up to 1/4: " + Arrays.toString(seen));
        assertEquals(1, new PadCropFlip(3, 32, 32, 4, true, Normalization.CIFAR10).reduction(32, 32, 0), "a transform that reads every pixel");
    }

    @Test
    void aReducedImageGivesTheSameCropBoxScaledAsAFullOne() {
        // A smooth image and its exact 2x box-average: cropping either gives nearly the same output.
        int W = 96, H = 64;
        byte[] full = new byte[3 * H * W], half = new byte[3 * (H / 2) * (W / 2)];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) full[(c * H + y) * W + x] = (byte) (x + y + 40 * c);
            for (int y = 0; y < H / 2; y++) {
                for (int x = 0; x < W / 2; x++) half[(c * H / 2 + y) * W / 2 + x] = (byte) (2 * x + 2 * y + 1 + 40 * c);
            }
        }
        RandomResizedCrop t = new RandomResizedCrop(8, 0.5, Normalization.IMAGENET);
        byte[] a = new byte[3 * 64], b = new byte[3 * 64];
        for (int k = 0; k < 50; k++) {
            long key = Transform.key(9, 0, k);
            t.apply(new Decoded(new Image(3, H, W, full), W, H, 1), key, a, 0);
            t.apply(new Decoded(new Image(3, H / 2, W / 2, half), W, H, 2), key, b, 0);
            for (int i = 0; i < a.length; i++) assertEquals(a[i] & 0xFF, b[i] & 0xFF, 1.01, "sample " + k + ", value " + i);
        }
    }
}
