package org.densenet.engine;

import java.util.Arrays;

/**
 * A strided view of a {@link Storage}: shape, element offset and element strides. Views share
 * their storage; only the tensor that allocated a storage frees it on {@link #close()}.
 *
 * <p>The layout every op accepts for 4-D activations is the "channel-slice" layout: within one
 * sample, channels are H*W apart and pixels are contiguous, but the batch stride may be larger
 * than C*H*W. A channel slice {@code S[:, a:b]} of an NCHW storage is such a view, which is what
 * lets a dense layer read and write the shared block storage without concatenation copies.
 */
public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final int[] shape;
    private final long[] strides;
    private final long offset;
    private final boolean owner;

    private Tensor(Storage storage, int[] shape, long[] strides, long offset, boolean owner) {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.owner = owner;
    }

    /** A tensor that owns a fresh storage, contiguous (row-major). Called by backends. */
    public static Tensor owning(Storage storage, int... shape) {
        int[] s = checkShape(shape);
        if (numel(s) > storage.elements()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(s) + " needs " + numel(s)
                    + " elements, storage holds " + storage.elements());
        }
        return new Tensor(storage, s, contiguousStrides(s), 0, true);
    }

    /** A view into the same storage. Checks that every element it addresses lies inside the storage. */
    public Tensor view(long offset, int[] shape, long[] strides) {
        int[] s = checkShape(shape);
        if (strides.length != s.length) throw new IllegalArgumentException("shape and strides differ in rank");
        long lo = offset, hi = offset;
        for (int i = 0; i < s.length; i++) {
            long span = (long) (s[i] - 1) * strides[i];
            if (span < 0) lo += span; else hi += span;
        }
        if (lo < 0 || hi >= storage.elements()) {
            throw new IndexOutOfBoundsException("view " + Arrays.toString(s) + " at offset " + offset + " strides "
                    + Arrays.toString(strides) + " leaves a storage of " + storage.elements() + " elements");
        }
        return new Tensor(storage, s, strides.clone(), offset, false);
    }

    /** View of indices [start, start + length) along {@code dim}. */
    public Tensor narrow(int dim, int start, int length) {
        checkDim(dim);
        if (start < 0 || length < 1 || start + length > shape[dim]) {
            throw new IndexOutOfBoundsException("narrow(" + dim + ", " + start + ", " + length + ") of shape " + Arrays.toString(shape));
        }
        int[] s = shape.clone();
        s[dim] = length;
        return new Tensor(storage, s, strides, offset + start * strides[dim], false);
    }

    /** Channel slice {@code [:, start:end]} of a 4-D [N, C, H, W] tensor. */
    public Tensor channels(int start, int end) {
        if (rank() != 4) throw new IllegalStateException("channels() needs a 4-D tensor, got " + Arrays.toString(shape));
        return narrow(1, start, end - start);
    }

    /** Same elements under another shape; only for contiguous tensors. */
    public Tensor reshape(int... newShape) {
        int[] s = checkShape(newShape);
        if (numel(s) != numel()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(s));
        }
        if (!isContiguous()) throw new IllegalStateException("reshape needs a contiguous tensor, got strides " + Arrays.toString(strides));
        return new Tensor(storage, s, contiguousStrides(s), offset, false);
    }

    public Storage storage() {
        return storage;
    }

    public DType dtype() {
        return storage.dtype();
    }

    public Backend backend() {
        return storage.backend();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        checkDim(i);
        return shape[i];
    }

    public int[] shape() {
        return shape.clone();
    }

    public long stride(int i) {
        checkDim(i);
        return strides[i];
    }

    public long[] strides() {
        return strides.clone();
    }

    public long offset() {
        return offset;
    }

    public long numel() {
        return numel(shape);
    }

    public boolean isContiguous() {
        return Arrays.equals(strides, contiguousStrides(shape));
    }

    /**
     * True for a 4-D tensor whose samples may be spread out (batch stride >= C*H*W) but whose
     * channels and pixels are packed: the layout of a channel slice of an NCHW storage.
     */
    public boolean isChannelSlice() {
        return rank() == 4 && strides[3] == 1 && strides[2] == shape[3]
                && strides[1] == (long) shape[2] * shape[3]
                && strides[0] >= (long) shape[1] * shape[2] * shape[3];
    }

    public boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    public boolean isOwner() {
        return owner;
    }

    /** Frees the storage if this tensor allocated it; views do nothing. */
    @Override
    public void close() {
        if (owner && !storage.isClosed()) storage.close();
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype() + (isContiguous() ? "" : " strides " + Arrays.toString(strides))
                + (offset != 0 ? " @" + offset : "");
    }

    public static long[] contiguousStrides(int[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= shape[i];
        }
        return st;
    }

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    private static int[] checkShape(int[] shape) {
        if (shape.length == 0) throw new IllegalArgumentException("tensor shape must have at least one dimension");
        for (int d : shape) {
            if (d < 1) throw new IllegalArgumentException("tensor dimensions must be >= 1, got " + Arrays.toString(shape));
        }
        return shape.clone();
    }

    private void checkDim(int d) {
        if (d < 0 || d >= shape.length) throw new IndexOutOfBoundsException("dimension " + d + " of a " + shape.length + "-D tensor");
    }
}
