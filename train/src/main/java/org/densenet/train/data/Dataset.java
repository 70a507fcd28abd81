package org.densenet.train.data;

/**
 * A labelled image collection, read by index from any thread. Images come out as 8-bit
 * channel-major pixels ({@link Image}); the transforms crop, resize and flip them, and the backend
 * normalises them as it uploads a batch.
 */
public interface Dataset {
    /** Short name for messages and logs, e.g. "cifar10 train". */
    String name();

    int size();

    int numClasses();

    /** Channels of every image (1 for grey, 3 for RGB). */
    int channels();

    int label(int index);

    /**
     * The pixels of one image. May decode a file; a decoding failure throws {@link DataException}
     * naming the file. Thread-safe.
     */
    Image image(int index);

    /** The classes' names, index by label, where the data itself names them (an ImageNet folder's class folders); else null. */
    default java.util.List<String> classNames() {
        return null;
    }

    /**
     * The image at 1/d of each side where the decoder can scale (a JPEG's DCT scaling), d being
     * {@code reduction.applyAsInt(fullWidth, fullHeight)} (1, 2, 4 or 8); at full size otherwise.
     */
    default Decoded decode(int index, java.util.function.IntBinaryOperator reduction) {
        return Decoded.full(image(index));
    }

    /** True when an image that fails to decode should be skipped (counted and reported) rather than stop the run. */
    default boolean skipsUndecodable() {
        return false;
    }
}
