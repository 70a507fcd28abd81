package org.densenet.train.data;

import java.util.Arrays;

/**
 * Equally sized images held in memory as one byte array, [N, C, H, W], with their labels. CIFAR,
 * Fashion-MNIST and the synthetic set are all of this kind.
 */
public final class ArrayDataset implements Dataset {
    private final String name;
    private final int numClasses;
    private final int channels;
    private final int height;
    private final int width;
    private final byte[] pixels;
    private final int[] labels;

    public ArrayDataset(String name, int numClasses, int channels, int height, int width, byte[] pixels, int[] labels) {
        long per = (long) channels * height * width;
        if (pixels.length != per * labels.length) {
            throw new IllegalArgumentException(name + ": " + labels.length + " labels but " + pixels.length
                    + " pixel bytes (expected " + per * labels.length + ")");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= numClasses) {
                throw new DataException(name + ": label " + labels[i] + " of image " + i + " is outside [0, " + numClasses + ")");
            }
        }
        this.name = name;
        this.numClasses = numClasses;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.pixels = pixels;
        this.labels = labels;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int size() {
        return labels.length;
    }

    @Override
    public int numClasses() {
        return numClasses;
    }

    @Override
    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    @Override
    public int label(int index) {
        return labels[index];
    }

    @Override
    public Image image(int index) {
        int per = channels * height * width;
        return new Image(channels, height, width, Arrays.copyOfRange(pixels, index * per, (index + 1) * per));
    }
}
