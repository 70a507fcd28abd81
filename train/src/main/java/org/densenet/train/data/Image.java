package org.densenet.train.data;

/** An 8-bit image in channel-major order: pixel (c, y, x) is {@code pixels[(c * height + y) * width + x]}. */
public record Image(int channels, int height, int width, byte[] pixels) {
    public Image {
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("image dimensions must be positive, got " + channels + "x" + height + "x" + width);
        }
        if (pixels.length != channels * height * width) {
            throw new IllegalArgumentException("image of " + channels + "x" + height + "x" + width + " needs "
                    + channels * height * width + " bytes, got " + pixels.length);
        }
    }

    /** Pixel value in [0, 255]. */
    public int at(int c, int y, int x) {
        return pixels[(c * height + y) * width + x] & 0xFF;
    }
}
