package org.densenet.train.data;

import java.util.Arrays;
import org.densenet.engine.CounterRng;

/**
 * The paper's standard CIFAR augmentation ("C10+"): zero-pad by {@code pad} pixels, take a random
 * crop of the original size, flip horizontally with probability 1/2 (the normalisation follows on
 * the device). With pad 0 and no flip it is the identity used for evaluation.
 */
public record PadCropFlip(int channels, int height, int width, int pad, boolean flip, Normalization norm) implements Transform {
    public PadCropFlip {
        if (pad < 0) throw new IllegalArgumentException("padding must be >= 0, got " + pad);
        norm = norm.forChannels(channels);
    }

    public static PadCropFlip eval(int channels, int side, Normalization norm) {
        return new PadCropFlip(channels, side, side, 0, false, norm);
    }

    @Override
    public Normalization normalization() {
        return norm;
    }

    @Override
    public void apply(Image src, long key, byte[] dst, int offset) {
        if (src.channels() != channels || src.height() != height || src.width() != width) {
            throw new IllegalArgumentException("expected a " + channels + "x" + height + "x" + width + " image, got "
                    + src.channels() + "x" + src.height() + "x" + src.width());
        }
        int dy = 0, dx = 0;
        boolean mirror = false;
        if (pad > 0) {
            dy = (int) (CounterRng.uniform(key, 0) * (2 * pad + 1)) - pad;
            dx = (int) (CounterRng.uniform(key, 1) * (2 * pad + 1)) - pad;
        }
        if (flip) mirror = CounterRng.uniform(key, 2) < 0.5f;
        byte[] px = src.pixels();
        for (int c = 0; c < channels; c++) {
            int plane = c * height * width;
            for (int y = 0; y < height; y++) {
                int sy = y + dy;
                int o = offset + plane + y * width;
                if (sy < 0 || sy >= height) {
                    Arrays.fill(dst, o, o + width, (byte) 0);
                    continue;
                }
                int row = plane + sy * width;
                if (!mirror && dx == 0) {
                    System.arraycopy(px, row, dst, o, width);
                    continue;
                }
                for (int x = 0; x < width; x++) {
                    int sx = (mirror ? width - 1 - x : x) + dx;
                    dst[o + x] = sx < 0 || sx >= width ? 0 : px[row + sx];
                }
            }
        }
    }
}
