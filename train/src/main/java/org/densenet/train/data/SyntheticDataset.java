package org.densenet.train.data;

import org.densenet.engine.CounterRng;

/**
 * Images generated on demand for benchmarks: counter-based noise around a per-class tint, so
 * the set is learnable, costs no memory and is the same on every run with the same seed.
 */
public final class SyntheticDataset implements Dataset {
    /** Class tints are the same for every seed, so a training and a test set made with different seeds agree. */
    private static final long TINT_KEY = 0x243F6A8885A308D3L;

    private final String name;
    private final int size;
    private final int numClasses;
    private final int channels;
    private final int side;
    private final long seed;

    public SyntheticDataset(String name, int size, int numClasses, int channels, int side, long seed) {
        if (size < 1 || numClasses < 2 || channels < 1 || side < 8) {
            throw new IllegalArgumentException("synthetic dataset needs size >= 1, classes >= 2, channels >= 1, side >= 8; got "
                    + size + ", " + numClasses + ", " + channels + ", " + side);
        }
        this.name = name;
        this.size = size;
        this.numClasses = numClasses;
        this.channels = channels;
        this.side = side;
        this.seed = seed;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int numClasses() {
        return numClasses;
    }

    @Override
    public int channels() {
        return channels;
    }

    public int side() {
        return side;
    }

    @Override
    public int label(int index) {
        return (int) Long.remainderUnsigned(CounterRng.bits(seed, index), numClasses);
    }

    @Override
    public Image image(int index) {
        int label = label(index);
        byte[] px = new byte[channels * side * side];
        long base = (long) index * px.length;
        long pixelSeed = seed ^ 0x5DEECE66DL;
        for (int c = 0; c < channels; c++) {
            int tint = 40 + (int) (CounterRng.uniform(TINT_KEY, (long) label * channels + c) * 176);
            for (int i = 0; i < side * side; i++) {
                int j = c * side * side + i;
                int v = tint + (int) (CounterRng.uniform(pixelSeed, base + j) * 80) - 40;
                px[j] = (byte) Math.max(0, Math.min(255, v));
            }
        }
        return new Image(channels, side, side, px);
    }
}
