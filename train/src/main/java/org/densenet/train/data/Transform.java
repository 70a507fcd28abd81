package org.densenet.train.data;

import org.densenet.engine.CounterRng;

/**
 * Turns one image into 8-bit pixels [C, H, W] at a fixed output size (crop, resize, flip); the
 * backend normalises them as it uploads a batch ({@code Backend.uploadImages} with
 * {@link #normalization()}), as torchvision's ToTensor and Normalize do. Random choices come
 * from {@code CounterRng.uniform(key, k)} for k = 0, 1, ...: the key is derived from the run's seed,
 * the epoch and the sample, so a sample looks the same whichever worker thread prepares it, and
 * a resumed run sees the same augmentations as an uninterrupted one.
 */
public interface Transform {
    int channels();

    int height();

    int width();

    /** What the pixels become on the device: per-channel (v / 255 - mean) / std. */
    Normalization normalization();

    /** Writes channels() * height() * width() pixels at dst[offset...]. */
    void apply(Image src, long key, byte[] dst, int offset);

    /**
     * The d in 1, 2, 4, 8 at which this sample's source, of full size {@code fullWidth} x {@code fullHeight},
     * may be decoded at 1/d of each side without losing the output's resolution. 1: every pixel is needed.
     */
    default int reduction(int fullWidth, int fullHeight, long key) {
        return 1;
    }

    /** {@link #apply(Image, long, byte[], int)} for an image as decoded, possibly at a reduced size. */
    default void apply(Decoded src, long key, byte[] dst, int offset) {
        if (src.reduction() != 1) throw new IllegalArgumentException(getClass().getSimpleName() + " takes full-size images only");
        apply(src.image(), key, dst, offset);
    }

    /** The random key of sample {@code index} in epoch {@code epoch} of a run seeded with {@code seed}. */
    static long key(long seed, int epoch, int index) {
        return CounterRng.bits(seed ^ 0x6A09E667F3BCC908L, ((long) epoch << 32) | (index & 0xFFFFFFFFL));
    }
}
