package org.densenet.engine.cuda;

import java.util.Arrays;

import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.ffm.Cudnn.ConvOp;

/**
 * Everything cuDNN's choice of algorithm depends on: the pass, the shapes, the batch strides of the
 * activation tensors (a channel slice of a wide block storage is a different problem from a
 * packed tensor), the geometry, and the alignment of the activation addresses (some kernels need
 * 16-byte aligned tensors, and a channel slice that starts at an odd channel of a 7x7 map is only
 * 4-byte aligned; filters are views into one flat parameter buffer, at any float offset). One algorithm is chosen per key and cached.
 *
 * <p>"In" is the input-shaped tensor [N, C, H, W] (x, or dx in backward data); "out" the
 * output-shaped one [N, K, P, Q] (y, or dy in the backward passes). {@code dtype} is the type every
 * tensor and the filter of the call have in cuDNN: F32, or BF16 / F16 in 16-bit training (where
 * the backend hands cuDNN the 16-bit copy of float32 weights, and a 16-bit weight gradient).
 */
public record ConvKey(ConvOp op, int n, int c, int h, int w, long inBatchStride, int k, int r, int s, int p, int q,
                      long outBatchStride, int stride, int pad, int inAlignment, int filterAlignment, int outAlignment, DType dtype) {

    /**
     * The key of one call, with its shapes checked: in [N, C, H, W], filter [K, C, R, S] and out
     * [N, K, P, Q] where P and Q follow from the geometry. Violations name the op and every shape.
     */
    public static ConvKey of(ConvOp op, Tensor in, Tensor filter, Tensor out, Conv2d conv, long inAddress, long filterAddress,
                             long outAddress) {
        return of(op, in, filter, out, conv, inAddress, filterAddress, outAddress, in.dtype());
    }

    /**
     * As {@link #of(ConvOp, Tensor, Tensor, Tensor, Conv2d, long, long, long)} for a call that cuDNN
     * runs in {@code dtype}: in and out must be of it; the filter tensor may be float32 when the
     * filter address is that of its 16-bit copy.
     */
    public static ConvKey of(ConvOp op, Tensor in, Tensor filter, Tensor out, Conv2d conv, long inAddress, long filterAddress,
                             long outAddress, DType dtype) {
        if (in.dtype() != dtype || out.dtype() != dtype || (filter.dtype() != dtype && filter.dtype() != DType.F32)) {
            throw new IllegalArgumentException(op.label + ": a convolution in " + dtype + " needs its activations in " + dtype + ", got "
                    + in + ", " + out + " and filter " + filter);
        }
        String inName = op == ConvOp.BACKWARD_DATA ? "dx" : "x";
        String outName = op == ConvOp.FORWARD ? "y" : "dy";
        TensorLayout.nd(in, op.label, inName);
        TensorLayout.nd(out, op.label, outName);
        if (filter.rank() != 4 || !filter.isContiguous()) {
            throw new IllegalArgumentException(op.label + ": the filter must be a contiguous [K, C, R, S] tensor, got " + filter);
        }
        int[] x = in.shape(), f = filter.shape(), y = out.shape();
        int p, q;
        try {
            p = conv.outSize(x[2], f[2]);
            q = conv.outSize(x[3], f[3]);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op.label + ": " + e.getMessage(), e);
        }
        if (f[1] != x[1] || y[0] != x[0] || y[1] != f[0] || y[2] != p || y[3] != q) {
            throw new IllegalArgumentException(op.label + ": shapes do not fit: " + inName + " " + Arrays.toString(x) + ", filter "
                    + Arrays.toString(f) + ", " + outName + " " + Arrays.toString(y) + " with stride " + conv.stride() + ", pad "
                    + conv.pad() + " (expected " + outName + " [" + x[0] + ", " + f[0] + ", " + p + ", " + q + "])");
        }
        return new ConvKey(op, x[0], x[1], x[2], x[3], in.stride(0), f[0], f[2], f[3], p, q, out.stride(0), conv.stride(),
                conv.pad(), TensorLayout.alignment(inAddress), TensorLayout.alignment(filterAddress), TensorLayout.alignment(outAddress), dtype);
    }

    /** "conv forward x[64, 24, 32, 32] w[12, 24, 3, 3] y[64, 12, 32, 32] stride 1 pad 1", for error messages. */
    @Override
    public String toString() {
        String inName = op == ConvOp.BACKWARD_DATA ? "dx" : "x";
        String outName = op == ConvOp.FORWARD ? "y" : "dy";
        return op.label + " " + inName + "[" + n + ", " + c + ", " + h + ", " + w + "]"
                + (inBatchStride != (long) c * h * w ? " (batch stride " + inBatchStride + ")" : "")
                + " w[" + k + ", " + c + ", " + r + ", " + s + "] " + outName + "[" + n + ", " + k + ", " + p + ", " + q + "]"
                + (outBatchStride != (long) k * p * q ? " (batch stride " + outBatchStride + ")" : "")
                + " stride " + stride + " pad " + pad + (dtype == DType.F32 ? "" : " in " + dtype);
    }
}
