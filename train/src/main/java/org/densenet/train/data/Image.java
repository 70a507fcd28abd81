package org.densenet.train.data;

/** An 8-bit image in channel-major order: pixel (c, y, x) is {@code pixels[(c * height + y) * width + x]}. */
public record Image(int channels, int height, int width, byte[] pixels) implements Pixels {
    public Image {
        Pixels.check(channels, height, width, pixels);
    }

    @Override
    public int pixelStride() {
        return 1;
    }

    @Override
    public int channelStride() {
        return height * width;
    }

    @Override
    public Image planar() {
        return this;
    }

    /** Pixel value in [0, 255]. */
    public int at(int c, int y, int x) {
        return pixels[(c * height + y) * width + x] & 0xFF;
    }
}
