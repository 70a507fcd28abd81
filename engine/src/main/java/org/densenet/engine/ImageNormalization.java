package org.densenet.engine;

import java.util.Arrays;

/**
 * How {@link Backend#uploadImages} turns 8-bit pixels into network inputs, as torchvision's
 * ToTensor then Normalize do in float32: {@code (v / 255 - mean[c]) / std[c]}. Up to four channels
 * (grey, RGB, RGBA).
 */
public record ImageNormalization(float[] mean, float[] std) {
    public static final int MAX_CHANNELS = 4;

    public ImageNormalization {
        if (mean.length < 1 || mean.length > MAX_CHANNELS || mean.length != std.length) {
            throw new IllegalArgumentException("image normalisation needs 1 to " + MAX_CHANNELS + " channels with one mean and one std each, got "
                    + mean.length + " means and " + std.length + " stds");
        }
        for (int i = 0; i < std.length; i++) {
            if (!Float.isFinite(mean[i]) || !(std[i] > 0) || Float.isInfinite(std[i])) {
                throw new IllegalArgumentException("channel " + i + " needs a finite mean and a finite std > 0, got mean " + mean[i] + ", std " + std[i]);
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    public int channels() {
        return mean.length;
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /** The input value of pixel value v (0 to 255) in channel c, rounded as every backend rounds it. */
    public float apply(int v, int c) {
        return ((float) v / 255.0f - mean[c]) / std[c];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ImageNormalization n && Arrays.equals(mean, n.mean) && Arrays.equals(std, n.std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "mean " + Arrays.toString(mean) + ", std " + Arrays.toString(std);
    }
}
