package org.densenet.engine.cuda.kernels;

import static org.densenet.engine.cuda.kernels.DeviceSlice.requireVectors;

import java.util.Objects;
import org.densenet.engine.LossResult;

/**
 * Launcher of kernels/src/main/cuda/loss.cu: softmax cross-entropy of logits [N, K] against int32
 * labels [N], with top-1/top-5 hits, reduced on the device into a double[{@value #RESULT_DOUBLES}]
 * result buffer that {@link #decode} turns into a {@link LossResult}.
 */
public final class LossKernels {
    public static final String SOFTMAX_XENT = "softmax_xent_f32";
    /** Layout of the result buffer: mean loss, top-1 hits, top-5 hits, 1 + first bad-label row (0: none). */
    public static final int RESULT_DOUBLES = 4;
    public static final int RESULT_BYTES = RESULT_DOUBLES * Double.BYTES;
    /** The kernel is one block: one warp per row, rows striding by 32 warps. */
    public static final int THREADS = 1024;

    private final KernelModule module;

    public LossKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    /**
     * Writes the result buffer (RESULT_BYTES at {@code result}, 8-byte aligned) and, when
     * {@code dlogits} is not 0, dlogits [N, K] = (softmax - onehot) / N. logits and dlogits are
     * contiguous float32 [N, K]; labels contiguous int32 [N].
     */
    public void softmaxCrossEntropy(long logits, long labels, long dlogits, int n, int k, long result) {
        if (n < 1 || k < 1) throw new IllegalArgumentException("softmaxCrossEntropy needs N >= 1 rows of K >= 1 logits, got N = " + n + ", K = " + k);
        requireVectors(logits, labels);
        if (dlogits != 0) requireVectors(dlogits);
        if (result == 0 || (result & 7) != 0) throw new IllegalArgumentException("loss result buffer 0x" + Long.toHexString(result) + " is null or not 8-byte aligned");
        module.launch(SOFTMAX_XENT, LaunchGeometry.singleBlock(THREADS),
                new KernelArgs().ptr(logits).ptr(labels).ptr(dlogits).i32(n).i32(k).ptr(result));
    }

    /** The LossResult of a downloaded result buffer for a batch of n rows; throws when a label was out of range. */
    public static LossResult decode(double[] result, int n) {
        if (result.length != RESULT_DOUBLES) throw new IllegalArgumentException("loss result buffer holds " + RESULT_DOUBLES + " doubles, got " + result.length);
        if (result[3] != 0) {
            throw new IllegalArgumentException("softmaxCrossEntropy: the label of row " + (long) (result[3] - 1) + " is outside [0, classes)");
        }
        return new LossResult(result[0], n, (int) result[1], (int) result[2]);
    }
}
