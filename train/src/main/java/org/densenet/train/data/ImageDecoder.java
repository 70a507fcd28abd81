package org.densenet.train.data;

import java.nio.file.Path;
import java.util.Locale;
import java.util.function.IntBinaryOperator;

/** Turns an image file into 8-bit RGB planes as PIL's {@code convert("RGB")} gives them. Thread-safe. */
interface ImageDecoder {
    /**
     * PIL's {@code Image.MAX_IMAGE_PIXELS}: PIL warns above it and refuses above twice it, which is
     * the limit here, so that a file torchvision would read is read here too.
     */
    long MAX_IMAGE_PIXELS = 89_478_485L;

    /**
     * Decodes {@code file}, at 1/d of each side where the decoder can scale, d being
     * {@code reduction.applyAsInt(width, height)} of the image's full size (1, 2, 4 or 8).
     *
     * @throws DataException naming the file when it cannot be decoded or is refused
     */
    default Decoded decode(Path file, IntBinaryOperator reduction) {
        return decode(file, reduction, null);
    }

    /** {@link #decode(Path, IntBinaryOperator)}, adding the time of each stage to {@code times} unless it is null. */
    Decoded decode(Path file, IntBinaryOperator reduction, LoadTimes times);

    /** What decodes, for the one line that says so. */
    String describe();

    /** Refuses, before anything is allocated, an image as large as PIL refuses: a decompression bomb. */
    static void checkPixels(Path file, int width, int height) {
        long pixels = (long) width * height;
        if (width < 1 || height < 1) throw DataException.at(file, "undecodable image (size " + width + "x" + height + ")");
        if (pixels > 2 * MAX_IMAGE_PIXELS) {
            throw DataException.at(file, String.format(Locale.ROOT, "image of %dx%d = %,d pixels exceeds the limit of %,d pixels"
                    + " (twice PIL's MAX_IMAGE_PIXELS, where PIL refuses it too): a possible decompression bomb", width, height,
                    pixels, 2 * MAX_IMAGE_PIXELS));
        }
    }
}
