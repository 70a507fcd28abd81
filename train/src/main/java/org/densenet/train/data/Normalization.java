package org.densenet.train.data;

import java.util.Arrays;
import org.densenet.engine.ImageNormalization;

/** Per-channel mean and standard deviation of pixel values scaled to [0, 1]: x = (p / 255 - mean) / std. */
public record Normalization(double[] mean, double[] std) {
    public static final Normalization CIFAR10 = new Normalization(new double[] {0.4914, 0.4822, 0.4465}, new double[] {0.2470, 0.2435, 0.2616});
    public static final Normalization CIFAR100 = new Normalization(new double[] {0.5071, 0.4865, 0.4409}, new double[] {0.2673, 0.2564, 0.2762});
    public static final Normalization FASHION_MNIST = new Normalization(new double[] {0.2860}, new double[] {0.3530});
    public static final Normalization IMAGENET = new Normalization(new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225});
    /** For the synthetic set: maps [0, 255] to about [-1, 1]. */
    public static final Normalization HALF = new Normalization(new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5});

    public Normalization {
        if (mean.length == 0 || mean.length != std.length) {
            throw new IllegalArgumentException("normalisation needs one mean and one std per channel, got " + mean.length + " and " + std.length);
        }
        for (double s : std) {
            if (!(s > 0)) throw new IllegalArgumentException("normalisation std must be > 0, got " + Arrays.toString(std));
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** The normalisation for an image of {@code channels} channels (a one-channel set reused for every channel). */
    public Normalization forChannels(int channels) {
        if (channels == mean.length) return this;
        double[] m = new double[channels], s = new double[channels];
        for (int c = 0; c < channels; c++) {
            m[c] = mean[c % mean.length];
            s[c] = std[c % std.length];
        }
        return new Normalization(m, s);
    }

    /** As the backends apply it when a batch is uploaded: float32 means and stds. */
    public ImageNormalization forUpload() {
        float[] m = new float[mean.length], s = new float[std.length];
        for (int c = 0; c < m.length; c++) {
            m[c] = (float) mean[c];
            s[c] = (float) std[c];
        }
        return new ImageNormalization(m, s);
    }
}
