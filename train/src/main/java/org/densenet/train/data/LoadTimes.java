package org.densenet.train.data;

/**
 * Nanoseconds spent reading image files and decoding them, summed over the decodes given it: what
 * {@code bench data} reports for each stage. One thread's; not for sharing.
 */
public final class LoadTimes {
    long read, decode;

    /** Reading files into memory. */
    public long readNanos() {
        return read;
    }

    /** Decoding them into pixels, including the copy of the decoder's output into the heap. */
    public long decodeNanos() {
        return decode;
    }
}
