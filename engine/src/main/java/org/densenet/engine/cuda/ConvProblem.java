package org.densenet.engine.cuda;

/**
 * One convolution as a network runs it, for {@link CudnnProbe}: x [N, C, H, W] and y [N, K, P, Q]
 * with a [K, C, R, S] filter, and where x and y lie when they are channel slices of larger storages
 * (a dense block's storage of {@code inStorageChannels}, x its channels {@code inChannelOffset ..
 * +C}; likewise y). A tensor that is its whole storage has offset 0 and storage channels equal to
 * its own. {@code label} says where in which network the shape occurs.
 */
public record ConvProblem(String label, int n, int c, int h, int w, int k, int r, int s, int stride, int pad,
                          int inStorageChannels, int inChannelOffset, int outStorageChannels, int outChannelOffset) {
    public ConvProblem {
        if (n < 1 || c < 1 || h < 1 || w < 1 || k < 1 || r < 1 || s < 1 || stride < 1 || pad < 0) {
            throw new IllegalArgumentException(label + ": invalid convolution x[" + n + ", " + c + ", " + h + ", " + w + "] w[" + k
                    + ", " + c + ", " + r + ", " + s + "] stride " + stride + " pad " + pad);
        }
        if (h + 2 * pad < r || w + 2 * pad < s) throw new IllegalArgumentException(label + ": the filter is larger than the padded input");
        if (inChannelOffset < 0 || inChannelOffset + c > inStorageChannels || outChannelOffset < 0 || outChannelOffset + k > outStorageChannels) {
            throw new IllegalArgumentException(label + ": slice outside its storage: x channels " + inChannelOffset + ".." + (inChannelOffset + c)
                    + " of " + inStorageChannels + ", y channels " + outChannelOffset + ".." + (outChannelOffset + k) + " of " + outStorageChannels);
        }
    }

    /** A problem whose tensors are their own storages. */
    public static ConvProblem packed(String label, int n, int c, int h, int w, int k, int r, int s, int stride, int pad) {
        return new ConvProblem(label, n, c, h, w, k, r, s, stride, pad, c, 0, k, 0);
    }

    public int p() {
        return (h + 2 * pad - r) / stride + 1;
    }

    public int q() {
        return (w + 2 * pad - s) / stride + 1;
    }

    /** Whether x or y is a proper part of a larger storage (otherwise the slice form equals the packed one). */
    public boolean isSlice() {
        return inStorageChannels != c || outStorageChannels != k;
    }

    /** The same shapes, each tensor its own storage. */
    public ConvProblem asPacked() {
        return packed(label, n, c, h, w, k, r, s, stride, pad);
    }

    /** "x[64, 256, 56, 56] w[128, 256, 1, 1] y[64, 128, 56, 56] stride 1 pad 0". */
    public String shape() {
        return "x[" + n + ", " + c + ", " + h + ", " + w + "] w[" + k + ", " + c + ", " + r + ", " + s + "] y[" + n + ", " + k + ", " + p()
                + ", " + q() + "] stride " + stride + " pad " + pad;
    }

    /** Where the slices lie, e.g. "x = S[:, 0:64] of 256, y packed". */
    public String placement() {
        return side("x", inChannelOffset, c, inStorageChannels) + ", " + side("y", outChannelOffset, k, outStorageChannels);
    }

    private static String side(String name, int offset, int channels, int storage) {
        return channels == storage ? name + " packed" : name + " = S[:, " + offset + ":" + (offset + channels) + "] of " + storage;
    }
}
