package org.densenet.train.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.function.IntBinaryOperator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * The JDK's decoders (javax.imageio): JPEG, PNG, BMP, GIF, always at full size. The fallback of
 * {@link TurboDecoder}, and what reads the CMYK and YCCK JPEGs and the PNGs that ImageNet names .JPEG.
 */
final class ImageIoDecoder implements ImageDecoder {
    static final ImageIoDecoder INSTANCE = new ImageIoDecoder();

    private ImageIoDecoder() {
    }

    @Override
    public String describe() {
        return "javax.imageio";
    }

    @Override
    public Decoded decode(Path f, IntBinaryOperator reduction, LoadTimes times) {
        if (times != null) times.start();
        byte[] file;
        try {
            file = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            throw DataException.at(f, "image file is missing");
        } catch (IOException e) {
            throw DataException.at(f, "cannot read (" + e.getMessage() + ")");
        }
        if (times != null) times.read();
        BufferedImage img;
        // A stream over the bytes read, not ImageIO.createImageInputStream's, which caches to a temporary file.
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(file))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw DataException.at(f, "undecodable image (not a format javax.imageio reads)");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                ImageDecoder.checkPixels(f, reader.getWidth(0), reader.getHeight(0));
                img = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof DataException d) throw d;
            throw DataException.at(f, "undecodable image (" + e.getMessage() + ")");
        }
        Decoded d = Decoded.full(toImage(img));
        if (times != null) times.decoded();
        return d;
    }

    /**
     * The decoded samples as 8-bit RGB planes, as PIL's {@code convert("RGB")} gives them (what torchvision
     * trains on): colour samples as stored, grey replicated into the three channels, alpha dropped, CMYK
     * by PIL's formula ({@link #cmykToRgb}). Byte
     * rasters (the JPEG reader's colour and grey output, most PNGs) are read directly; anything else
     * goes through {@link BufferedImage#getRGB}, which would also convert: grey through a linear colour
     * space, so that 64 became 137.
     */
    static Image toImage(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight(), plane = h * w;
        byte[] px = new byte[3 * plane];
        WritableRaster raster = img.getRaster();
        int bands = raster.getNumBands(), space = img.getColorModel().getColorSpace().getType();
        boolean direct = (bands == 1 && space == ColorSpace.TYPE_GRAY) || (bands == 3 && space == ColorSpace.TYPE_RGB)
                || (bands == 4 && space == ColorSpace.TYPE_CMYK);
        if (direct && raster.getSampleModel() instanceof PixelInterleavedSampleModel sm
                && raster.getDataBuffer() instanceof DataBufferByte db && db.getNumBanks() == 1
                && raster.getSampleModelTranslateX() == 0 && raster.getSampleModelTranslateY() == 0) {
            byte[] d = db.getData();
            int stride = sm.getScanlineStride(), step = sm.getPixelStride(), base = db.getOffset();
            int[] band = sm.getBandOffsets();
            if (bands == 4) {
                cmykToRgb(d, base, stride, step, band, h, w, px);
            } else if (bands == 1) {
                for (int y = 0; y < h; y++) {
                    int in = base + y * stride + band[0], out = y * w;
                    for (int x = 0; x < w; x++, in += step) px[out + x] = d[in];
                }
                System.arraycopy(px, 0, px, plane, plane);
                System.arraycopy(px, 0, px, 2 * plane, plane);
            } else {
                int r = band[0], g = band[1], b = band[2];
                for (int y = 0; y < h; y++) {
                    int in = base + y * stride, out = y * w;
                    for (int x = 0; x < w; x++, in += step) {
                        px[out + x] = d[in + r];
                        px[plane + out + x] = d[in + g];
                        px[2 * plane + out + x] = d[in + b];
                    }
                }
            }
            return new Image(3, h, w, px);
        }
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int rgb = row[x];
                px[y * w + x] = (byte) (rgb >> 16);
                px[plane + y * w + x] = (byte) (rgb >> 8);
                px[2 * plane + y * w + x] = (byte) rgb;
            }
        }
        return new Image(3, h, w, px);
    }

    /**
     * CMYK inks (the JPEG reader has already undone Adobe's inverted storage) to RGB planes with PIL's
     * formula, without colour management: r = (255 - k) - c (255 - k) / 255, rounded as PIL's 8-bit
     * MULDIV255. getRGB would convert through a CMYK colour profile instead, far from what
     * torchvision sees.
     */
    private static void cmykToRgb(byte[] d, int base, int stride, int step, int[] band, int h, int w, byte[] px) {
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            int in = base + y * stride, out = y * w;
            for (int x = 0; x < w; x++, in += step) {
                int nk = 255 - (d[in + band[3]] & 0xFF);
                for (int ch = 0; ch < 3; ch++) {
                    int ink = d[in + band[ch]] & 0xFF;
                    int t = ink * nk + 128;
                    int v = nk - (((t >> 8) + t) >> 8);
                    px[ch * plane + out + x] = (byte) Math.max(0, v);
                }
            }
        }
    }
}
