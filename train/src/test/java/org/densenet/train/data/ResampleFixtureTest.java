package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

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
 * call (scripts/fixtures/make_resample_fixture.py). The resampler does PIL's fixed-point arithmetic
 * in PIL's order, so every byte must be PIL's: from planar and from interleaved pixels, mirrored or not.
 */
class ResampleFixtureTest {
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

    private static void assertPil(float[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        int diffs = 0, first = -1;
        for (int i = 0; i < expected.length; i++) {
            if ((int) expected[i] != (actual[i] & 0xFF)) {
                if (diffs++ == 0) first = i;
            }
        }
        assertEquals(0, diffs, what + ": " + diffs + " values differ from PIL's, the first at " + first
                + (first >= 0 ? " (PIL " + (int) expected[first] + ", here " + (actual[first] & 0xFF) + ")" : ""));
    }

    private static float[] mirrored(float[] chw, int c, int h, int w) {
        float[] m = new float[chw.length];
        for (int p = 0; p < c * h; p++) for (int x = 0; x < w; x++) m[p * w + x] = chw[p * w + w - 1 - x];
        return m;
    }

    @Test
    @SuppressWarnings("unchecked")
    void resizeOfABoxAndOfACropEqualPilsBytesShrinkingEnlargingAndAtUnitScale() {
        List<Object> boxes = (List<Object>) JsonCodec.parse(meta.get("boxes"));
        assertEquals(5, boxes.size());
        int W = image.width(), H = image.height();
        for (int i = 0; i < boxes.size(); i++) {
            List<Number> b = (List<Number>) boxes.get(i);
            int x0 = b.get(0).intValue(), y0 = b.get(1).intValue(), w = b.get(2).intValue(), h = b.get(3).intValue();
            int oh = b.get(4).intValue(), ow = b.get(5).intValue();
            // PIL's resize(box=...): the filter reads the whole image; crop-then-resize (torchvision's): the crop only.
            Resample.Taps bx = Resample.taps(0, W, x0, x0 + w, ow, 0, ow), by = Resample.taps(0, H, y0, y0 + h, oh, 0, oh);
            Resample.Taps cx = Resample.taps(x0, w, 0, w, ow, 0, ow), cy = Resample.taps(y0, h, 0, h, oh, 0, oh);
            float[] box = fixture.get("box" + i).toFloatArray(), crop = fixture.get("crop" + i).toFloatArray();
            for (Pixels src : List.of(image, PackedImage.of(image))) {
                String how = "box " + b + " of " + src.getClass().getSimpleName();
                byte[] out = new byte[3 * oh * ow];
                Resample.resize(src, bx, by, false, out, 0);
                assertPil(box, out, how + ", resize(box=...)");
                Resample.resize(src, bx, by, true, out, 0);
                assertPil(mirrored(box, 3, oh, ow), out, how + ", resize(box=...), mirrored");
                Resample.resize(src, cx, cy, false, out, 0);
                assertPil(crop, out, how + ", crop then resize");
                Resample.resize(src, cx, cy, true, out, 0);
                assertPil(mirrored(crop, 3, oh, ow), out, how + ", crop then resize, mirrored");
            }
        }
        assertFalse(java.util.Arrays.equals(fixture.get("box1").toFloatArray(), fixture.get("crop1").toFloatArray()),
                "the two readings of a box differ along its edges, so the test tells them apart");
    }

    @Test
    void randomResizedCropCropsThenResizesAsTorchvision() {
        // Box 1 of the fixture is (3, 7, 80, 60) to 24x24: the crop RandomResizedCrop would make from that box.
        CropTransform t = new CropTransform() {
            @Override
            public Box box(int width, int height, long key) {
                return new Box(3, 7, 80, 60, 24, 24, 0, 0, key == 1);
            }

            public int channels() {
                return 3;
            }

            public int height() {
                return 24;
            }

            public int width() {
                return 24;
            }

            public Normalization normalization() {
                return Normalization.IMAGENET;
            }
        };
        byte[] out = new byte[3 * 24 * 24];
        t.apply(Decoded.full(PackedImage.of(image)), 0, out, 0);
        assertPil(fixture.get("crop1").toFloatArray(), out, "crop (3, 7, 80, 60) to 24x24");
        t.apply(image, 1, out, 0);
        assertPil(mirrored(fixture.get("crop1").toFloatArray(), 3, 24, 24), out, "crop (3, 7, 80, 60) to 24x24, mirrored");
    }

    @Test
    void centreCropTakesTorchvisionsBoxWhichRoundsHalvesToEven() {
        int resize = Integer.parseInt(meta.get("resize")), crop = Integer.parseInt(meta.get("crop"));
        assertEquals("[14,4]", meta.get("centre_crop_left_top").replace(" ", ""), "the fixture's left edge is 14.5 rounded to even");
        byte[] out = new byte[3 * crop * crop];
        ResizeCenterCrop t = new ResizeCenterCrop(resize, crop, Normalization.IMAGENET);
        t.apply(image, 0, out, 0);
        assertPil(fixture.get("centre_crop").toFloatArray(), out, "resize " + resize + ", centre crop " + crop);
        t.apply(Decoded.full(PackedImage.of(image)), 0, out, 0);
        assertPil(fixture.get("centre_crop").toFloatArray(), out, "resize " + resize + ", centre crop " + crop + ", interleaved");
    }
}
