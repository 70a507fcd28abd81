package org.densenet.train.data;

/**
 * An image as decoded: at its full size ({@code reduction} 1) or at 1/{@code reduction} of each side
 * (a JPEG's DCT-domain scaling, whose pixel i covers full-size pixels [i r, (i + 1) r)), with the
 * full size, from which a transform draws its random crop whatever size was decoded.
 */
public record Decoded(Image image, int fullWidth, int fullHeight, int reduction) {
    public Decoded {
        if (reduction != 1 && reduction != 2 && reduction != 4 && reduction != 8) {
            throw new IllegalArgumentException("reduction must be 1, 2, 4 or 8, got " + reduction);
        }
        if (image.width() != (fullWidth + reduction - 1) / reduction || image.height() != (fullHeight + reduction - 1) / reduction) {
            throw new IllegalArgumentException("a " + fullWidth + "x" + fullHeight + " image at 1/" + reduction + " is "
                    + (fullWidth + reduction - 1) / reduction + "x" + (fullHeight + reduction - 1) / reduction + ", got "
                    + image.width() + "x" + image.height());
        }
    }

    /** A full-size image. */
    public static Decoded full(Image image) {
        return new Decoded(image, image.width(), image.height(), 1);
    }
}
