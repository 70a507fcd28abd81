package org.densenet.engine;

/**
 * Geometry of a 2-D convolution without bias, groups or dilation. The kernel size comes from
 * the filter tensor [K, C, R, S]; the output size is (H + 2*pad - R) / stride + 1.
 */
public record Conv2d(int stride, int pad) {
    public Conv2d {
        if (stride < 1) throw new IllegalArgumentException("convolution stride must be >= 1, got " + stride);
        if (pad < 0) throw new IllegalArgumentException("convolution padding must be >= 0, got " + pad);
    }

    public int outSize(int in, int kernel) {
        int out = (in + 2 * pad - kernel) / stride + 1;
        if (out < 1) {
            throw new IllegalArgumentException("convolution of size " + in + " with kernel " + kernel
                    + ", stride " + stride + ", pad " + pad + " has no output");
        }
        return out;
    }
}
