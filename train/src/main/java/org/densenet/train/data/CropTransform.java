package org.densenet.train.data;

/**
 * A transform that crops a box of the source and resizes it to its output: the ImageNet ones. The
 * box is drawn in full-size coordinates, so a sample gets the same crop whatever size its image was
 * decoded at; an image decoded at 1/d is read with the box divided by d, as PIL's draft mode maps it.
 */
interface CropTransform extends Transform {
    /** A box of a full-size source (pixel coordinates, fractional), and whether the output is mirrored. */
    record Box(double x0, double y0, double w, double h, boolean flip) {
    }

    /** The box this sample reads from a {@code width} x {@code height} image. */
    Box box(int width, int height, long key);

    /**
     * The largest d in 8, 4, 2 at which the box, decoded at 1/d, still has at least the output's
     * resolution in both directions, else 1: what PIL's draft mode picks for a requested size.
     */
    @Override
    default int reduction(int fullWidth, int fullHeight, long key) {
        Box b = box(fullWidth, fullHeight, key);
        for (int d = 8; d > 1; d /= 2) {
            if (b.w() / d >= width() && b.h() / d >= height()) return d;
        }
        return 1;
    }

    @Override
    default void apply(Decoded src, long key, byte[] dst, int offset) {
        Box b = box(src.fullWidth(), src.fullHeight(), key);
        double d = src.reduction();
        Resample.cropResize(src.image(), b.x0() / d, b.y0() / d, b.w() / d, b.h() / d, height(), width(), b.flip(), dst, offset);
    }

    @Override
    default void apply(Image src, long key, byte[] dst, int offset) {
        apply(Decoded.full(src), key, dst, offset);
    }
}
