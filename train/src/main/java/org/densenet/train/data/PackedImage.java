package org.densenet.train.data;

/** An 8-bit image with interleaved channels (RGB RGB ...): pixel (c, y, x) is {@code pixels[(y * width + x) * channels + c]}. */
public record PackedImage(int channels, int height, int width, byte[] pixels) implements Pixels {
    public PackedImage {
        Pixels.check(channels, height, width, pixels);
    }

    /** The pixels of a planar image, interleaved. */
    public static PackedImage of(Image im) {
        int plane = im.height() * im.width(), channels = im.channels();
        byte[] px = new byte[channels * plane];
        for (int i = 0, j = 0; i < plane; i++) {
            for (int c = 0; c < channels; c++) px[j++] = im.pixels()[c * plane + i];
        }
        return new PackedImage(channels, im.height(), im.width(), px);
    }

    @Override
    public int pixelStride() {
        return channels;
    }

    @Override
    public int channelStride() {
        return 1;
    }

    @Override
    public Image planar() {
        int plane = height * width;
        byte[] px = new byte[channels * plane];
        for (int i = 0, j = 0; i < plane; i++) {
            for (int c = 0; c < channels; c++) px[c * plane + i] = pixels[j++];
        }
        return new Image(channels, height, width, px);
    }
}
