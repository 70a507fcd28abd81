package org.densenet.engine.cuda.kernels;

import java.util.Arrays;

import org.densenet.engine.ImageNormalization;

/**
 * The CIFAR-style batch augmentation of augment.cu: random crop of the image zero-padded by
 * {@code pad} (0: no crop), random horizontal flip (when {@code flip}), then the normalisation
 * (v / 255 - mean) / std per channel. Up to four channels (gray, RGB, RGBA).
 */
public record Augmentation(int pad, boolean flip, ImageNormalization norm) {
    public static final int MAX_CHANNELS = ImageNormalization.MAX_CHANNELS;

    public Augmentation {
        if (pad < 0 || pad > 1 << 20) throw new IllegalArgumentException("crop padding must be in [0, 2^20], got " + pad);
        if (norm == null) throw new IllegalArgumentException("augmentation needs a normalisation");
    }

    public Augmentation(int pad, boolean flip, float[] mean, float[] std) {
        this(pad, flip, new ImageNormalization(mean, std));
    }

    /** Test-time preprocessing: normalisation only. */
    public static Augmentation normalizeOnly(ImageNormalization norm) {
        return new Augmentation(0, false, norm);
    }

    public static Augmentation normalizeOnly(float[] mean, float[] std) {
        return normalizeOnly(new ImageNormalization(mean, std));
    }

    public int channels() {
        return norm.channels();
    }

    public float[] mean() {
        return norm.mean();
    }

    public float[] std() {
        return norm.std();
    }

    /** The by-value struct DnNormalize {float mean[4]; float std[4];} of augment.cu. */
    float[] normalizeStruct() {
        float[] mean = norm.mean(), std = norm.std();
        float[] s = new float[2 * MAX_CHANNELS];
        Arrays.fill(s, 1f);
        for (int i = 0; i < MAX_CHANNELS; i++) s[i] = 0f;
        System.arraycopy(mean, 0, s, 0, mean.length);
        System.arraycopy(std, 0, s, MAX_CHANNELS, std.length);
        return s;
    }
}
