package org.densenet.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

import org.densenet.engine.cuda.ffm.Cublas;
import org.densenet.engine.cuda.ffm.GemmCall;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

/**
 * The fully connected layer through cuBLAS. Row-major matrices are passed
 * as their column-major transposes ({@link GemmCall#rowMajor}); the bias is added, and summed in
 * backward, by a GEMM with a vector of ones, so no kernel is needed. The math mode keeps SGEMM
 * in float32 unless TF32 is allowed.
 */
final class Blas implements AutoCloseable {
    private final Cublas cublas;
    private final DeviceQueue device;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one;
    private final MemorySegment zero;
    private static final Supplier<String> ONES = () -> "a vector of ones for the linear layer";

    /** cuBLAS's own workspace (its recommended size for GPUs before Hopper; SGEMMs this small need no more). */
    static final long WORKSPACE_BYTES = 4L << 20;

    private final GrowingBlock ones;
    private final DeviceAllocator allocator;
    private final DeviceAllocator.Block workspace;
    private long onesCount;

    Blas(Cublas cublas, DeviceQueue device, DeviceAllocator allocator, boolean tf32) {
        this.cublas = cublas;
        this.device = device;
        this.ones = new GrowingBlock(allocator);
        this.allocator = allocator;
        this.one = arena.allocateFrom(JAVA_FLOAT, 1f);
        this.zero = arena.allocateFrom(JAVA_FLOAT, 0f);
        this.handle = cublas.createHandle();
        this.workspace = allocator.allocate(WORKSPACE_BYTES, "cuBLAS's workspace");
        cublas.setStream(handle, device.streamAddress());
        // After the stream, which resets it: with a workspace of its own cuBLAS allocates nothing during a capture.
        cublas.setWorkspace(handle, workspace.address(), WORKSPACE_BYTES);
        cublas.setMathMode(handle, tf32 ? Cublas.TF32_TENSOR_OP_MATH : Cublas.DEFAULT_MATH);
    }

    /** A device vector of at least n float ones (grown, never shrunk). */
    private long ones(int n) {
        if (onesCount < n) {
            onesCount = 0;   // until filled: a failed allocation leaves no block, so the next call starts over
            device.fill32(ones.atLeast(4L * n, ONES), n, Float.floatToRawIntBits(1f), "filling a vector of ones");
            onesCount = n;
        }
        return ones.atLeast(4L * onesCount, ONES).address();
    }

    /** y [n, o] = x [n, f] w [o, f]^T + b [o]; all contiguous. */
    void linearForward(long x, long w, long b, long y, int n, int f, int o) {
        cublas.sgemm(handle, GemmCall.rowMajor(false, false, n, o, 1), b, ones(n), y, one, zero, "linear forward (bias)");
        cublas.sgemm(handle, GemmCall.rowMajor(false, true, n, o, f), w, x, y, one, one, "linear forward");
    }

    /** dx = dy w (when dx != 0), dw = dy^T x, db = column sums of dy; dw and db are overwritten. */
    void linearBackward(long x, long w, long dy, long dx, long dw, long db, int n, int f, int o) {
        if (dx != 0) cublas.sgemm(handle, GemmCall.rowMajor(false, false, n, f, o), w, dy, dx, one, zero, "linear backward (dx)");
        cublas.sgemm(handle, GemmCall.rowMajor(true, false, o, f, n), x, dy, dw, one, zero, "linear backward (dw)");
        cublas.sgemm(handle, GemmCall.rowMajor(false, false, 1, o, n), dy, ones(n), db, one, zero, "linear backward (db)");
    }

    @Override
    public void close() {
        ones.close();
        cublas.destroyHandle(handle);
        allocator.free(workspace);
        arena.close();
    }
}
