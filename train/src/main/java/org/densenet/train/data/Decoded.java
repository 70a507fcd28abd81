package org.densenet.train.data;

/**
 * An image as decoded: at its full size ({@code reduction} 1) or at 1/{@code reduction} of each side
 * (a JPEG's DCT-domain scaling, whose pixel i covers full-size pixels [i r, (i + 1) r)), with the
 * full size, from which a transform draws its random crop whatever size was decoded. The pixels
 * are planar or interleaved, as the decoder wrote them.
 */
public record Decoded(Pixels pixels, int fullWidth, int fullHeight, int reduction) {
    public Decoded {
        if (reduction != 1 && reduction != 2 && reduction != 4 && reduction != 8) {
            throw new IllegalArgumentException("reduction must be 1, 2, 4 or 8, got " + reduction);
        }
        if (pixels.width() != (fullWidth + reduction - 1) / reduction || pixels.height() != (fullHeight + reduction - 1) / reduction) {
            throw new IllegalArgumentException("a " + fullWidth + "x" + fullHeight + " image at 1/" + reduction + " is "
                    + (fullWidth + reduction - 1) / reduction + "x" + (fullHeight + reduction - 1) / reduction + ", got "
                    + pixels.width() + "x" + pixels.height());
        }
    }

    /** A full-size image. */
    public static Decoded full(Pixels pixels) {
        return new Decoded(pixels, pixels.width(), pixels.height(), 1);
    }

    /** The pixels as channel planes (a copy when they were decoded interleaved). */
    public Image image() {
        return pixels.planar();
    }
}
