package org.densenet.engine.cuda;

import java.util.Arrays;

import org.densenet.engine.Tensor;

/**
 * How a tensor's elements lie in device memory, in the two forms the driver and the libraries
 * take: as equal rows a pitch apart (copies, fills, cuBLAS GEAM), and as the dims and strides of a
 * cuDNN N-d tensor descriptor. Both are pure functions of shape and strides, tested on the CPU.
 *
 * <p>Only the layouts of the Backend contract occur: contiguous tensors of any rank, and 4-D
 * channel slices [N, C, H, W] whose samples lie stride(0) >= C*H*W elements apart.
 */
public final class TensorLayout {
    private TensorLayout() {
    }

    /** rows rows of rowElements contiguous elements, the first at the tensor's offset, each pitch elements after the last. */
    public record Rows(long rows, long rowElements, long pitch) {
        public Rows {
            if (rows < 1 || rowElements < 1 || pitch < rowElements) {
                throw new IllegalArgumentException("invalid row layout: " + rows + " rows of " + rowElements + " elements, pitch " + pitch);
            }
        }
    }

    /**
     * The rows of a tensor: a contiguous tensor is one row; a channel slice one row per sample. A 4-D
     * tensor that is both (a contiguous [N, C, H, W]) counts as rows too when {@code perSample}, so that
     * two 4-D tensors of one shape always split into the same rows.
     */
    public static Rows rows(Tensor t, boolean perSample, String op, String name) {
        if (t.rank() == 4 && t.isChannelSlice() && (perSample || !t.isContiguous())) {
            long sample = (long) t.dim(1) * t.dim(2) * t.dim(3);
            return new Rows(t.dim(0), sample, t.stride(0));
        }
        if (t.isContiguous()) return new Rows(1, t.numel(), t.numel());
        throw new IllegalArgumentException(op + ": " + name + " " + Arrays.toString(t.shape()) + " with strides "
                + Arrays.toString(t.strides()) + " is neither contiguous nor a channel slice");
    }

    /** Dims and element strides of a cuDNN tensor descriptor for a 4-D channel slice. */
    public record Nd(int[] dims, int[] strides) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Nd n && Arrays.equals(dims, n.dims) && Arrays.equals(strides, n.strides);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(dims) + Arrays.hashCode(strides);
        }

        @Override
        public String toString() {
            return Arrays.toString(dims) + " strides " + Arrays.toString(strides);
        }
    }

    /**
     * [N, C, H, W] with strides {stride(0), H*W, W, 1}: a channel slice S[:, a:b] of a [N, C_total, H, W]
     * storage has stride(0) = C_total*H*W, and its first element sits at the tensor's offset. cuDNN takes
     * int dims and strides, so anything beyond 2^31 - 1 is refused here with the shape in the message.
     */
    public static Nd nd(Tensor t, String op, String name) {
        if (t.rank() != 4 || !t.isChannelSlice()) {
            throw new IllegalArgumentException(op + ": " + name + " must be a 4-D [N, C, H, W] channel slice, got "
                    + Arrays.toString(t.shape()) + " with strides " + Arrays.toString(t.strides()));
        }
        int[] dims = t.shape();
        long[] s = t.strides();
        int[] strides = new int[4];
        for (int i = 0; i < 4; i++) {
            long span = s[i] * (dims[i] - 1L) + (i == 0 ? (long) dims[1] * dims[2] * dims[3] : 1);
            if (s[i] > Integer.MAX_VALUE || span > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(op + ": " + name + " " + Arrays.toString(dims) + " with batch stride " + s[0]
                        + " spans more than 2^31 - 1 elements, which cuDNN's descriptors cannot describe; use a smaller batch");
            }
            strides[i] = (int) s[i];
        }
        return new Nd(dims, strides);
    }

    /** Byte address of a tensor's first element, given its storage's base address. */
    public static long address(long storageBase, Tensor t) {
        return storageBase + t.offset() * t.dtype().bytes();
    }

    /** The largest power of two up to 16 dividing an address: some cuDNN kernels need 16-byte aligned tensors. */
    public static int alignment(long address) {
        return (int) Math.min(16, Long.lowestOneBit(address | 16));
    }
}
