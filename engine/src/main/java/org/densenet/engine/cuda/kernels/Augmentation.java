package org.densenet.engine.cuda.kernels;

import java.util.Arrays;

/**
 * The CIFAR-style batch augmentation of augment.cu: random crop of the image zero-padded by
 * {@code pad} (0: no crop), random horizontal flip (when {@code flip}), then (v / 255 - mean) / std
 * per channel. Up to four channels (gray, RGB, RGBA).
 */
public record Augmentation(int pad, boolean flip, float[] mean, float[] std) {
    public static final int MAX_CHANNELS = 4;

    public Augmentation {
        if (pad < 0 || pad > 1 << 20) throw new IllegalArgumentException("crop padding must be in [0, 2^20], got " + pad);
        if (mean.length < 1 || mean.length > MAX_CHANNELS || mean.length != std.length) {
            throw new IllegalArgumentException("normalisation needs 1 to 4 channels with one mean and one std each, got "
                    + mean.length + " means and " + std.length + " stds");
        }
        for (int i = 0; i < std.length; i++) {
            if (!(std[i] > 0) || Float.isInfinite(std[i]) || !Float.isFinite(mean[i])) {
                throw new IllegalArgumentException("channel " + i + " needs a finite mean and a finite std > 0, got mean " + mean[i] + ", std " + std[i]);
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** Test-time preprocessing: normalisation only. */
    public static Augmentation normalizeOnly(float[] mean, float[] std) {
        return new Augmentation(0, false, mean, std);
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

    /** The by-value struct DnNormalize {float mean[4]; float std[4];} of augment.cu. */
    float[] normalizeStruct() {
        float[] s = new float[2 * MAX_CHANNELS];
        Arrays.fill(s, 1f);
        for (int i = 0; i < MAX_CHANNELS; i++) s[i] = 0f;
        System.arraycopy(mean, 0, s, 0, mean.length);
        System.arraycopy(std, 0, s, MAX_CHANNELS, std.length);
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Augmentation a && pad == a.pad && flip == a.flip && Arrays.equals(mean, a.mean) && Arrays.equals(std, a.std);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * pad + Boolean.hashCode(flip)) + 17 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "Augmentation[pad=" + pad + ", flip=" + flip + ", mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + "]";
    }
}
