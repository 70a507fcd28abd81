package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.densenet.engine.cuda.ffm.LibraryLoader.NotLoadable;
import org.densenet.train.data.ffm.TurboJpeg;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * libjpeg-turbo's pixels against PIL's convert("RGB") of the same files (scripts/fixtures/make_jpeg_fixtures.py):
 * exactly equal at full size, and at 1/2, 1/4 and 1/8 against PIL's draft mode, which asks libjpeg for the
 * same scaling. Skipped, with the loader's reason, where libturbojpeg.so.0 cannot be loaded.
 */
class TurboDecoderTest {
    private static TurboDecoder turbo;

    @BeforeAll
    static void load() {
        try {
            turbo = new TurboDecoder(TurboJpeg.load());
        } catch (NotLoadable e) {
            Assumptions.abort("libjpeg-turbo is not usable here (install Debian's libturbojpeg0): " + e.getMessage());
        }
    }

    static Path fixture(String name) throws URISyntaxException {
        return Path.of(TurboDecoderTest.class.getResource("jpeg/" + name).toURI());
    }

    /** PIL's RGB, stored losslessly as PNG. */
    static Image reference(String name) throws URISyntaxException {
        return ImageIoDecoder.INSTANCE.decode(fixture(name), (w, h) -> 1).image();
    }

    @ParameterizedTest
    @ValueSource(strings = {"baseline-420", "baseline-422", "baseline-444", "progressive-420", "grey", "scaled-420",
            "scaled-progressive-444", "scaled-grey"})
    void fullSizeDecodeEqualsPilsRgbExactly(String name) throws URISyntaxException {
        Decoded d = turbo.decode(fixture(name + ".jpg"), (w, h) -> 1);
        Image expected = reference(name + ".rgb.png");
        assertEquals(1, d.reduction());
        assertEquals(expected.width(), d.image().width());
        assertEquals(expected.height(), d.image().height());
        assertArrayEquals(expected.pixels(), d.image().pixels(), name);
    }

    @ParameterizedTest
    @CsvSource({"scaled-420,2", "scaled-420,4", "scaled-420,8", "scaled-progressive-444,2", "scaled-progressive-444,4",
            "scaled-progressive-444,8", "scaled-grey,2", "scaled-grey,8"})
    void dctScaledDecodeEqualsPilsDraftModeExactly(String name, int d) throws URISyntaxException {
        int[] asked = new int[2];
        Decoded got = turbo.decode(fixture(name + ".jpg"), (w, h) -> {
            asked[0] = w;
            asked[1] = h;
            return d;
        });
        assertEquals(130, asked[0], "the reduction is chosen from the full size");
        assertEquals(98, asked[1]);
        assertEquals(130, got.fullWidth());
        assertEquals(d, got.reduction());
        Image expected = reference(name + ".rgb-1-" + d + ".png");
        assertEquals((130 + d - 1) / d, got.image().width());
        assertEquals((98 + d - 1) / d, got.image().height());
        assertArrayEquals(expected.pixels(), got.image().pixels(), name + " at 1/" + d);
    }

    @Test
    void cmykAndNonJpegFilesGoToImageIoAndComeOutAsToday(@TempDir Path dir) throws Exception {
        Path cmyk = Path.of(TurboDecoderTest.class.getResource("cmyk.jpg").toURI());
        assertArrayEquals(ImageIoDecoder.INSTANCE.decode(cmyk, (w, h) -> 1).image().pixels(),
                turbo.decode(cmyk, (w, h) -> 8).image().pixels(), "CMYK through ImageIO, at full size");
        Path png = dir.resolve("n02105855_2933.JPEG");  // ImageNet's PNG with a JPEG's name
        Files.copy(fixture("baseline-444.rgb.png"), png);
        Decoded d = turbo.decode(png, (w, h) -> 2);
        assertEquals(1, d.reduction());
        assertArrayEquals(reference("baseline-444.rgb.png").pixels(), d.image().pixels());
    }

    @Test
    void truncatedAndCorruptFilesAreRefusedNamingTheFile(@TempDir Path dir) throws Exception {
        byte[] whole = Files.readAllBytes(fixture("scaled-420.jpg"));
        Path cut = dir.resolve("cut.JPEG");
        Files.write(cut, Arrays.copyOf(whole, whole.length / 2));
        DataException t = assertThrows(DataException.class, () -> turbo.decode(cut, (w, h) -> 1));
        assertTrue(t.getMessage().startsWith(cut + ": truncated image (Premature end of JPEG file"), t.getMessage());
        Path junk = dir.resolve("junk.JPEG");
        Files.write(junk, new byte[] {(byte) 0xFF, (byte) 0xD8, 1, 2, 3});
        DataException j = assertThrows(DataException.class, () -> turbo.decode(junk, (w, h) -> 1));
        assertTrue(j.getMessage().startsWith(junk + ": undecodable image ("), j.getMessage());
    }

    /** A JPEG whose frame header claims {@code width} x {@code height}, with the data of a small one. */
    static Path withClaimedSize(Path dir, int width, int height) throws IOException, URISyntaxException {
        byte[] b = Files.readAllBytes(fixture("baseline-420.jpg"));
        for (int i = 2; i + 9 < b.length; ) {
            int marker = b[i + 1] & 0xFF, len = (b[i + 2] & 0xFF) << 8 | (b[i + 3] & 0xFF);
            if (marker == 0xC0 || marker == 0xC2) {
                b[i + 5] = (byte) (height >> 8);
                b[i + 6] = (byte) height;
                b[i + 7] = (byte) (width >> 8);
                b[i + 8] = (byte) width;
                Path f = dir.resolve("bomb-" + width + "x" + height + ".JPEG");
                Files.write(f, b);
                return f;
            }
            i += 2 + len;
        }
        throw new IllegalStateException("no frame header");
    }

    @Test
    void decompressionBombIsRefusedFromItsHeaderAtTwicePilsLimit(@TempDir Path dir) throws Exception {
        Path bomb = withClaimedSize(dir, 20000, 9000);  // 180,000,000 pixels: just above 2 x 89,478,485
        DataException e = assertThrows(DataException.class, () -> turbo.decode(bomb, (w, h) -> 1));
        assertEquals(bomb + ": image of 20000x9000 = 180,000,000 pixels exceeds the limit of 178,956,970 pixels"
                + " (twice PIL's MAX_IMAGE_PIXELS, where PIL refuses it too): a possible decompression bomb", e.getMessage());
        DataException io = assertThrows(DataException.class, () -> ImageIoDecoder.INSTANCE.decode(bomb, (w, h) -> 1));
        assertEquals(e.getMessage(), io.getMessage(), "the fallback refuses it in the same words");
    }

    @Test
    void cropsFromADctScaledDecodeStayCloseToThoseOfAFullDecode() throws Exception {
        // Centre crop 16 of a 24-pixel resize: the box is 65 pixels of the 130x98 fixture, so 1/4 keeps 16.
        ResizeCenterCrop t = new ResizeCenterCrop(24, 16, Normalization.IMAGENET);
        Path f = fixture("scaled-420.jpg");
        Decoded reduced = turbo.decode(f, (w, h) -> t.reduction(w, h, 0)), full = turbo.decode(f, (w, h) -> 1);
        assertEquals(4, reduced.reduction());
        byte[] a = new byte[3 * 16 * 16], b = new byte[a.length];
        t.apply(reduced, 0, a, 0);
        t.apply(full, 0, b, 0);
        long sum = 0;
        int max = 0;
        for (int i = 0; i < a.length; i++) {
            int d = Math.abs((a[i] & 0xFF) - (b[i] & 0xFF));
            sum += d;
            max = Math.max(max, d);
        }
        double mean = (double) sum / a.length;
        // libjpeg's scaled IDCT filters differently from the triangle filter over full-size pixels: close, not equal.
        assertTrue(mean > 0 && mean < 4 && max < 40, "mean " + mean + " levels, largest " + max);
    }
}
