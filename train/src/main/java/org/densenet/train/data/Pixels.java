package org.densenet.train.data;

/**
 * 8-bit pixels in one of the two layouts the loader meets: channel planes ({@link Image}, what the
 * datasets and transforms exchange) or interleaved ({@link PackedImage}, what libjpeg-turbo writes,
 * which the resampler reads without splitting it into planes first).
 */
public sealed interface Pixels permits Image, PackedImage {
    int channels();

    int height();

    int width();

    byte[] pixels();

    /** Bytes from one pixel to the next along a row. */
    int pixelStride();

    /** Bytes from one channel's value of a pixel to the next channel's. */
    int channelStride();

    /** The same pixels as channel planes. */
    Image planar();

    /** The checks of either layout's constructor: positive dimensions, and as many bytes as they need. */
    static void check(int channels, int height, int width, byte[] pixels) {
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("image dimensions must be positive, got " + channels + "x" + height + "x" + width);
        }
        if (pixels.length != channels * height * width) {
            throw new IllegalArgumentException("image of " + channels + "x" + height + "x" + width + " needs "
                    + channels * height * width + " bytes, got " + pixels.length);
        }
    }
}
