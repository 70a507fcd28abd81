package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.JsonCodec;
import org.densenet.engine.io.SafeTensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The crop-and-resize of the ImageNet transforms against PIL 9.4, which torchvision's transforms
 * call (scripts/fixtures/make_resample_fixture.py). PIL works in 8-bit fixed point and rounds after
 * each of its two passes; the resampler here keeps floats between them and rounds once, so the two
 * agree within one level, and on average within a third of one.
 */
class ResampleFixtureTest {
    private static final double MAX_LEVELS = 1.001, MEAN_LEVELS = 0.35;

    private static Map<String, HostTensor> fixture;
    private static Map<String, String> meta;
    private static Image image;

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        Path f = Path.of(ResampleFixtureTest.class.getResource("pil-resample.safetensors").toURI());
        fixture = SafeTensors.read(f);
        meta = SafeTensors.readMetadata(f);
        HostTensor img = fixture.get("image");
        float[] v = img.toFloatArray();
        byte[] px = new byte[v.length];
        for (int i = 0; i < v.length; i++) px[i] = (byte) (int) v[i];
        image = new Image(img.shape()[0], img.shape()[1], img.shape()[2], px);
    }

    /** The largest difference, after checking that it and the mean are within PIL's rounding. */
    private static double assertWithinRounding(float[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        double max = 0, sum = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - (actual[i] & 0xFF));
            max = Math.max(max, d);
            sum += d;
        }
        double mean = sum / expected.length;
        assertTrue(max <= MAX_LEVELS && mean <= MEAN_LEVELS, what + ": largest difference " + max + " levels, mean " + mean);
        return max;
    }

    private static float[] mirrored(float[] chw, int c, int h, int w) {
        float[] m = new float[chw.length];
        for (int p = 0; p < c * h; p++) for (int x = 0; x < w; x++) m[p * w + x] = chw[p * w + w - 1 - x];
        return m;
    }

    @Test
    @SuppressWarnings("unchecked")
    void cropResizeMatchesPilBilinearShrinkingEnlargingAndAtUnitScale() {
        List<Object> boxes = (List<Object>) JsonCodec.parse(meta.get("boxes"));
        assertEquals(5, boxes.size());
        for (int i = 0; i < boxes.size(); i++) {
            List<Number> b = (List<Number>) boxes.get(i);
            int x0 = b.get(0).intValue(), y0 = b.get(1).intValue(), w = b.get(2).intValue(), h = b.get(3).intValue();
            int oh = b.get(4).intValue(), ow = b.get(5).intValue();
            float[] expected = fixture.get("box" + i).toFloatArray();
            byte[] out = new byte[3 * oh * ow];
            Resample.cropResize(image, x0, y0, w, h, oh, ow, false, out, 0);
            double max = assertWithinRounding(expected, out, "box " + b);
            if (w == ow && h == oh) assertEquals(0, max, 1e-4, "at unit scale the crop is a copy");
            Resample.cropResize(image, x0, y0, w, h, oh, ow, true, out, 0);
            assertWithinRounding(mirrored(expected, 3, oh, ow), out, "box " + b + ", flipped");
        }
    }

    @Test
    void centreCropTakesTorchvisionsBoxWhichRoundsHalvesToEven() {
        int resize = Integer.parseInt(meta.get("resize")), crop = Integer.parseInt(meta.get("crop"));
        assertEquals("[14,4]", meta.get("centre_crop_left_top").replace(" ", ""), "the fixture's left edge is 14.5 rounded to even");
        byte[] out = new byte[3 * crop * crop];
        new ResizeCenterCrop(resize, crop, Normalization.IMAGENET).apply(image, 0, out, 0);
        assertWithinRounding(fixture.get("centre_crop").toFloatArray(), out, "resize " + resize + ", centre crop " + crop);
    }
}
