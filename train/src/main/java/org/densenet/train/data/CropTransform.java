package org.densenet.train.data;

/**
 * A transform that resizes a region of the source and takes a window of the result: the ImageNet
 * ones. The box is drawn in full-size coordinates, so a sample gets the same crop whatever size its
 * image was decoded at; an image decoded at 1/d is read with the region divided by d, as PIL's
 * draft mode maps it.
 */
interface CropTransform extends Transform {
    /**
     * The region [x0, x0 + w) x [y0, y0 + h) of a full-size source (whole pixels; the filter reads
     * nothing outside it) resized to {@code resizedW} x {@code resizedH}, of which the output is the
     * window at ({@code left}, {@code top}); mirrored when {@code flip}. torchvision's
     * RandomResizedCrop crops, then resizes (window = the whole resize); Resize + CenterCrop resizes
     * the whole image, then crops.
     */
    record Box(int x0, int y0, int w, int h, int resizedW, int resizedH, int left, int top, boolean flip) {
        public Box {
            if (w < 1 || h < 1 || resizedW < 1 || resizedH < 1 || x0 < 0 || y0 < 0 || left < 0 || top < 0) {
                throw new IllegalArgumentException("crop box needs a non-empty region and resize, got " + w + "x" + h + " at "
                        + x0 + "," + y0 + " to " + resizedW + "x" + resizedH + " at " + left + "," + top);
            }
        }
    }

    /** The box this sample reads from a {@code width} x {@code height} image. */
    Box box(int width, int height, long key);

    /**
     * The largest d in 8, 4, 2 at which the region, decoded at 1/d, still has at least its resize's
     * resolution in both directions, else 1: what PIL's draft mode picks for a requested size.
     */
    @Override
    default int reduction(int fullWidth, int fullHeight, long key) {
        Box b = box(fullWidth, fullHeight, key);
        for (int d = 8; d > 1; d /= 2) {
            if ((double) b.w() / d >= b.resizedW() && (double) b.h() / d >= b.resizedH()) return d;
        }
        return 1;
    }

    @Override
    default void apply(Decoded src, long key, byte[] dst, int offset) {
        Box b = box(src.fullWidth(), src.fullHeight(), key);
        int d = src.reduction();
        Pixels p = src.pixels();
        Resample.Taps tx = taps(b.x0(), b.w(), b.resizedW(), b.left(), width(), d, p.width());
        Resample.Taps ty = taps(b.y0(), b.h(), b.resizedH(), b.top(), height(), d, p.height());
        Resample.resize(p, tx, ty, b.flip(), dst, offset);
    }

    @Override
    default void apply(Image src, long key, byte[] dst, int offset) {
        apply(Decoded.full(src), key, dst, offset);
    }

    /**
     * The taps of one axis: the region [x0, x0 + len) of the full size, resized to {@code resized}, outputs
     * [first, first + n), read from pixels decoded at 1/d ({@code size} of them), where the region's
     * edges fall between pixels unless d is 1.
     */
    private static Resample.Taps taps(int x0, int len, int resized, int first, int n, int d, int size) {
        if (d == 1) return Resample.taps(x0, Math.min(len, size - x0), 0, len, resized, first, n);
        double a = (double) x0 / d, e = (double) (x0 + len) / d;
        int lo = (int) Math.floor(a), hi = Math.min(size, (int) Math.ceil(e));
        return Resample.taps(lo, hi - lo, a - lo, e - lo, resized, first, n);
    }
}
