package org.densenet.engine;

/**
 * Geometry of a square 2-D pooling window. Average pooling counts padded zeros in the divisor
 * (PyTorch's count_include_pad=True); max pooling ignores padding.
 */
public record Pool2d(int kernel, int stride, int pad) {
    public Pool2d {
        if (kernel < 1 || stride < 1 || pad < 0 || pad > kernel / 2) {
            throw new IllegalArgumentException("invalid pooling window: kernel " + kernel + ", stride " + stride + ", pad " + pad);
        }
    }

    public int outSize(int in) {
        int out = (in + 2 * pad - kernel) / stride + 1;
        if (out < 1) throw new IllegalArgumentException("pooling " + this + " of size " + in + " has no output");
        return out;
    }
}
