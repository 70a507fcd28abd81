package org.densenet.train.data;

/**
 * One prepared batch: 8-bit images [size, C, H, W] at the front of {@code pixels}, to be
 * normalised as they are uploaded ({@code Backend.uploadImages}), labels in the first
 * {@code size} entries of {@code labels}. Buffers are reused by the loader.
 */
public final class Batch {
    final byte[] pixels;
    final int[] labels;
    int size;
    int index;

    Batch(int capacity, int samplePixels) {
        pixels = new byte[capacity * samplePixels];
        labels = new int[capacity];
    }

    /** The images' pixels, sample after sample; only the first size() samples belong to this batch. */
    public byte[] pixels() {
        return pixels;
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
