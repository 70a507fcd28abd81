package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decoded images come out as PIL's {@code convert("RGB")} gives them: colour as stored, grey
 * replicated, alpha dropped. Files are PNG where exact values are asserted (lossless), JPEG where
 * the direct raster path is compared with the decoder's own {@code getRGB}.
 */
class ImageFolderDecodeTest {
    private static ImageFolder folder(Path dir) {
        return ImageFolder.load(dir, "train", new Decoding(Decoding.Decoder.IMAGEIO, false));
    }

    private static Path classDir(Path dir) throws IOException {
        return Files.createDirectories(dir.resolve("train/n01"));
    }

    /** Channel c of pixel (y, x). */
    private static int at(Image img, int c, int y, int x) {
        return img.at(c, y, x);
    }

    @Test
    void colourJpegMatchesTheDecodersOwnRgbExactly(@TempDir Path dir) throws IOException {
        SplittableRandom rng = new SplittableRandom(3);
        BufferedImage src = new BufferedImage(37, 23, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 23; y++) for (int x = 0; x < 37; x++) src.setRGB(x, y, rng.nextInt(1 << 24));
        Path file = classDir(dir).resolve("a.JPEG");
        ImageIO.write(src, "jpg", file.toFile());
        BufferedImage decoded = ImageIO.read(file.toFile());
        assertEquals(BufferedImage.TYPE_3BYTE_BGR, decoded.getType(), "the JPEG reader's colour output, which the direct path reads");

        Image img = folder(dir).image(0);
        assertEquals(3, img.channels());
        assertEquals(23, img.height());
        assertEquals(37, img.width());
        for (int y = 0; y < 23; y++) {
            for (int x = 0; x < 37; x++) {
                int rgb = decoded.getRGB(x, y);
                assertEquals(rgb >> 16 & 0xFF, at(img, 0, y, x), "red at " + x + "," + y);
                assertEquals(rgb >> 8 & 0xFF, at(img, 1, y, x), "green at " + x + "," + y);
                assertEquals(rgb & 0xFF, at(img, 2, y, x), "blue at " + x + "," + y);
            }
        }
    }

    @Test
    void colourPngKeepsItsExactValues(@TempDir Path dir) throws IOException {
        SplittableRandom rng = new SplittableRandom(4);
        BufferedImage src = new BufferedImage(9, 5, BufferedImage.TYPE_3BYTE_BGR);
        int[][] rgb = new int[5][9];
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 9; x++) {
                rgb[y][x] = rng.nextInt(1 << 24);
                src.setRGB(x, y, rgb[y][x]);
            }
        }
        ImageIO.write(src, "png", classDir(dir).resolve("a.png").toFile());
        Image img = folder(dir).image(0);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 9; x++) {
                assertEquals(rgb[y][x] >> 16 & 0xFF, at(img, 0, y, x));
                assertEquals(rgb[y][x] >> 8 & 0xFF, at(img, 1, y, x));
                assertEquals(rgb[y][x] & 0xFF, at(img, 2, y, x));
            }
        }
    }

    @Test
    void greyIsReplicatedUnchangedIntoTheThreeChannels(@TempDir Path dir) throws IOException {
        // getRGB would have sent these through Java's linear grey colour space: 64 -> 137, 128 -> 188, 200 -> 229
        byte[] values = {0, 64, (byte) 128, (byte) 200, (byte) 255, 17};
        BufferedImage src = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        System.arraycopy(values, 0, ((DataBufferByte) src.getRaster().getDataBuffer()).getData(), 0, 6);
        ImageIO.write(src, "png", classDir(dir).resolve("g.png").toFile());
        Image img = folder(dir).image(0);
        assertEquals(3, img.channels());
        byte[] plane = new byte[6];
        for (int c = 0; c < 3; c++) {
            System.arraycopy(img.pixels(), c * 6, plane, 0, 6);
            assertArrayEquals(values, plane, "channel " + c);
        }
    }

    @Test
    void greyJpegIsReplicatedFromTheDecodedSamples(@TempDir Path dir) throws IOException {
        BufferedImage src = new BufferedImage(16, 8, BufferedImage.TYPE_BYTE_GRAY);
        byte[] d = ((DataBufferByte) src.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < d.length; i++) d[i] = (byte) (i * 2);
        Path file = classDir(dir).resolve("g.JPEG");
        ImageIO.write(src, "jpg", file.toFile());
        byte[] decoded = ((DataBufferByte) ImageIO.read(file.toFile()).getRaster().getDataBuffer()).getData();
        Image img = folder(dir).image(0);
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < decoded.length; i++) assertEquals(decoded[i], img.pixels()[c * decoded.length + i], "channel " + c + ", sample " + i);
        }
    }

    @Test
    void cmykJpegBecomesRgbAsPilConvertsIt(@TempDir Path dir) throws Exception {
        // cmyk.jpg and PIL's RGB of it: scripts/fixtures/make_cmyk_fixture.py
        Path jpeg = Path.of(ImageFolderDecodeTest.class.getResource("cmyk.jpg").toURI());
        Path expected = Path.of(ImageFolderDecodeTest.class.getResource("cmyk-rgb.safetensors").toURI());
        Files.copy(jpeg, classDir(dir).resolve("cmyk.JPEG"));
        float[] rgb = org.densenet.engine.io.SafeTensors.read(expected).get("rgb").toFloatArray();
        Image img = folder(dir).image(0);
        assertEquals(3, img.channels());
        assertEquals(6, img.height());
        assertEquals(10, img.width());
        for (int i = 0; i < rgb.length; i++) {
            assertEquals((int) rgb[i], img.pixels()[i] & 0xFF, "sample " + i + " (channel " + i / 60 + ")");
        }
    }

    @Test
    void alphaAndPaletteImagesGiveTheirColoursWithoutAlpha(@TempDir Path dir) throws IOException {
        Path c = classDir(dir);
        BufferedImage argb = new BufferedImage(4, 3, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) argb.setRGB(x, y, (x * 60) << 24 | (10 * x + 1) << 16 | (20 * y + 2) << 8 | (x + y + 3));
        ImageIO.write(argb, "png", c.resolve("a.png").toFile());
        byte[] r = {(byte) 250, 0, 7}, g = {1, (byte) 128, 9}, b = {2, 3, (byte) 200};
        BufferedImage indexed = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(2, 3, r, g, b));
        byte[] idx = ((DataBufferByte) indexed.getRaster().getDataBuffer()).getData();
        idx[0] = 2;
        idx[1] = 0;
        idx[2] = 1;
        ImageIO.write(indexed, "png", c.resolve("b.png").toFile());

        ImageFolder data = folder(dir);
        Image a = data.image(0);
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 4; x++) {
                assertEquals(10 * x + 1, at(a, 0, y, x));
                assertEquals(20 * y + 2, at(a, 1, y, x));
                assertEquals(x + y + 3, at(a, 2, y, x));
            }
        }
        Image p = data.image(1);
        int[] order = {2, 0, 1};
        for (int x = 0; x < 3; x++) {
            assertEquals(r[order[x]] & 0xFF, at(p, 0, 0, x));
            assertEquals(g[order[x]] & 0xFF, at(p, 1, 0, x));
            assertEquals(b[order[x]] & 0xFF, at(p, 2, 0, x));
        }
    }
}
