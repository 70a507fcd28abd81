package org.densenet.train.data;

/**
 * One prepared batch: images as float32 [size, C, H, W] at the front of {@code images}, labels
 * in the first {@code size} entries of {@code labels}. Buffers are reused by the loader.
 */
public final class Batch {
    final float[] images;
    final int[] labels;
    int size;
    int index;

    Batch(int capacity, int sampleFloats) {
        images = new float[capacity * sampleFloats];
        labels = new int[capacity];
    }

    public float[] images() {
        return images;
    }

    public int[] labels() {
        return labels;
    }

    /** Samples in this batch; the last batch of an epoch may be smaller than the batch size. */
    public int size() {
        return size;
    }

    /** Position of the batch within its epoch, from 0. */
    public int index() {
        return index;
    }
}
