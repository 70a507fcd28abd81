package org.densenet.engine.cpu;

import java.util.Arrays;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;

/** Argument checks shared by the CPU ops; every failure names the op and the offending shapes. */
final class Checks {
    private Checks() {
    }

    static IllegalArgumentException fail(String op, String message) {
        return new IllegalArgumentException(op + ": " + message);
    }

    /** A 4-D activation in the channel-slice layout. */
    static void activation(String op, String name, Tensor t) {
        if (t.rank() != 4) throw fail(op, name + " must be 4-D [N, C, H, W], got " + Arrays.toString(t.shape()));
        if (!t.isChannelSlice()) {
            throw fail(op, name + " " + Arrays.toString(t.shape()) + " with strides " + Arrays.toString(t.strides())
                    + " is not in the channel-slice layout (packed channels and pixels per sample)");
        }
    }

    static void contiguous(String op, String name, Tensor t) {
        if (!t.isContiguous()) {
            throw fail(op, name + " " + Arrays.toString(t.shape()) + " must be contiguous, got strides " + Arrays.toString(t.strides()));
        }
    }

    /** A contiguous tensor of exactly this shape. */
    static void shape(String op, String name, Tensor t, int... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw fail(op, name + " must have shape " + Arrays.toString(expected) + ", got " + Arrays.toString(t.shape()));
        }
    }

    static void sameShape(String op, String aName, Tensor a, String bName, Tensor b) {
        if (!a.sameShape(b)) {
            throw fail(op, aName + " " + Arrays.toString(a.shape()) + " and " + bName + " " + Arrays.toString(b.shape()) + " differ in shape");
        }
    }

    /** All floating and of one dtype; returns it. */
    static DType floating(String op, Tensor first, Tensor... rest) {
        DType d = first.dtype();
        if (!d.isFloating()) throw fail(op, "needs floating tensors, got " + d);
        for (Tensor t : rest) {
            if (t != null && t.dtype() != d) throw fail(op, "mixes dtypes " + d + " and " + t.dtype());
        }
        return d;
    }

    /** Contiguous, or a 4-D channel slice: the layouts the elementwise ops walk in per-sample runs. */
    static void runnable(String op, String name, Tensor t) {
        if (!t.isContiguous() && !t.isChannelSlice()) {
            throw fail(op, name + " " + Arrays.toString(t.shape()) + " with strides " + Arrays.toString(t.strides())
                    + " is neither contiguous nor a channel slice");
        }
    }
}
