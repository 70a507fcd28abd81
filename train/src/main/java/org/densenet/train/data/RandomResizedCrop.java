package org.densenet.train.data;

import org.densenet.engine.CounterRng;

/**
 * ImageNet training augmentation as torchvision's RandomResizedCrop(size, scale=(0.08, 1),
 * ratio=(3/4, 4/3)) followed by RandomHorizontalFlip (the normalisation follows on the device).
 */
public record RandomResizedCrop(int size, double minScale, Normalization norm) implements CropTransform {
    private static final int ATTEMPTS = 10;
    private static final double LOG_RATIO_LO = Math.log(3.0 / 4.0), LOG_RATIO_HI = Math.log(4.0 / 3.0);

    public RandomResizedCrop {
        if (size < 1) throw new IllegalArgumentException("crop size must be >= 1, got " + size);
        if (!(minScale > 0 && minScale <= 1)) throw new IllegalArgumentException("minimum crop scale must be in (0, 1], got " + minScale);
        norm = norm.forChannels(3);
    }

    @Override
    public int channels() {
        return 3;
    }

    @Override
    public int height() {
        return size;
    }

    @Override
    public int width() {
        return size;
    }

    @Override
    public Normalization normalization() {
        return norm;
    }

    @Override
    public Box box(int W, int H, long key) {
        double area = (double) W * H;
        int k = 0;
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            double target = area * (minScale + (1 - minScale) * CounterRng.uniform(key, k++));
            double aspect = Math.exp(LOG_RATIO_LO + (LOG_RATIO_HI - LOG_RATIO_LO) * CounterRng.uniform(key, k++));
            int w = (int) Math.round(Math.sqrt(target * aspect));
            int h = (int) Math.round(Math.sqrt(target / aspect));
            float u = CounterRng.uniform(key, k++), v = CounterRng.uniform(key, k++);
            if (w > 0 && w <= W && h > 0 && h <= H) {
                int top = (int) (u * (H - h + 1)), left = (int) (v * (W - w + 1));
                return new Box(left, top, w, h, size, size, 0, 0, flip(key));
            }
        }
        double ratio = (double) W / H;
        int w = W, h = H;
        if (ratio < 3.0 / 4.0) {
            h = (int) Math.round(w / (3.0 / 4.0));
        } else if (ratio > 4.0 / 3.0) {
            w = (int) Math.round(h * (4.0 / 3.0));
        }
        h = Math.min(h, H);
        w = Math.min(w, W);
        return new Box((W - w) / 2, (H - h) / 2, w, h, size, size, 0, 0, flip(key));
    }

    private static boolean flip(long key) {
        return CounterRng.uniform(key, 4 * ATTEMPTS) < 0.5f;
    }
}
