package org.densenet.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.densenet.engine.DType;
import org.densenet.engine.cuda.ffm.Cudnn;
import org.densenet.engine.cuda.ffm.Cudnn.ConvOp;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The three convolution passes through cuDNN's legacy API, with strided N-d descriptors so that
 * inputs and outputs may be channel slices. The first call of each {@link ConvKey} builds its
 * descriptors and lets cuDNN time every algorithm on the real buffers (FindConvolution*Ex); the
 * fastest one that keeps float32 arithmetic (unless TF32 is allowed) is cached with its
 * descriptors. One workspace serves every call and only grows. When the device cannot hold the
 * workspace the chosen algorithm wants (the memory check before training counts activations, not
 * workspaces), the next fastest algorithm that wants less is used from then on, as PyTorch's
 * cuDNN benchmark mode does; only when none fits does the out-of-memory error reach the caller.
 * An accumulating call (beta = 1) is made after its search, and the search's writes to the
 * output are undone first.
 */
final class Convolutions implements AutoCloseable {
    /** Most workspace one algorithm search may use, and at most half of what is free. */
    private static final long SEARCH_WORKSPACE_CAP = 4L << 30;

    /** Saves the output's contents and puts them back on close: the algorithm search overwrites its output. */
    interface Preserver {
        AutoCloseable preserve();
    }

    private record Choice(int algo, int mathType, long workspaceBytes) {
    }

    /** Descriptors and the usable algorithms, fastest first; {@code current} indexes the one in use. */
    private record Plan(MemorySegment inDesc, MemorySegment filterDesc, MemorySegment convDesc, MemorySegment outDesc,
                        List<Choice> choices, int current) {
        Choice choice() {
            return choices.get(current);
        }

        Plan using(int index) {
            return new Plan(inDesc, filterDesc, convDesc, outDesc, choices, index);
        }
    }

    private final Cudnn cudnn;
    private final DeviceQueue device;
    private final DeviceAllocator allocator;
    private final boolean tf32;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one;
    private final MemorySegment zero;
    private final Map<ConvKey, Plan> plans = new HashMap<>();
    private final GrowingBlock workspace;

    Convolutions(Cudnn cudnn, DeviceQueue device, DeviceAllocator allocator, boolean tf32) {
        this.cudnn = cudnn;
        this.device = device;
        this.allocator = allocator;
        this.workspace = new GrowingBlock(allocator);
        this.tf32 = tf32;
        this.one = arena.allocateFrom(JAVA_FLOAT, 1f);
        this.zero = arena.allocateFrom(JAVA_FLOAT, 0f);
        this.handle = cudnn.createHandle();
        cudnn.setStream(handle, device.streamAddress());
    }

    int plannedShapes() {
        return plans.size();
    }

    /**
     * Runs one pass. in is [N, C, H, W] (x, or dx for backward data), filter [K, C, R, S] (w, or dw for
     * backward filter), out [N, K, P, Q] (y, or dy): the addresses are those of each tensor's first
     * element. The pass writes in (backward data), filter (backward filter) or out (forward).
     */
    void run(ConvKey key, long in, long filter, long out, boolean accumulate, Preserver preserver) {
        Plan plan = plans.get(key);
        if (plan == null) {
            device.refuseWhileCapturing("cuDNN's algorithm search for " + key);
            plan = plan(key, in, filter, out, accumulate ? preserver : null);
            plans.put(key, plan);
        }
        long ws;
        try {
            ws = workspace(plan.choice().workspaceBytes(), key);
        } catch (CudaOutOfMemoryException e) {
            plan = fallBack(key, plan, e);
            plans.put(key, plan);
            ws = workspace(plan.choice().workspaceBytes(), key);
        }
        Choice c = plan.choice();
        MemorySegment beta = accumulate ? one : zero;
        switch (key.op()) {
            case FORWARD -> cudnn.run(handle, key.op(), one, plan.inDesc(), in, plan.filterDesc(), filter, plan.convDesc(),
                    c.algo(), ws, c.workspaceBytes(), beta, plan.outDesc(), out, key);
            case BACKWARD_DATA -> cudnn.run(handle, key.op(), one, plan.filterDesc(), filter, plan.outDesc(), out, plan.convDesc(),
                    c.algo(), ws, c.workspaceBytes(), beta, plan.inDesc(), in, key);
            case BACKWARD_FILTER -> cudnn.run(handle, key.op(), one, plan.inDesc(), in, plan.outDesc(), out, plan.convDesc(),
                    c.algo(), ws, c.workspaceBytes(), beta, plan.filterDesc(), filter, key);
        }
    }

    /** The shared workspace, grown to at least {@code bytes}; 0 (no pointer) when none is wanted. */
    private long workspace(long bytes, ConvKey key) {
        return bytes == 0 ? 0 : workspace.atLeast(bytes, () -> "the cuDNN workspace of " + key).address();
    }

    /**
     * The plan switched to the fastest later algorithm whose smaller workspace can be had, which
     * is then allocated; {@code failed} when none can.
     */
    private Plan fallBack(ConvKey key, Plan plan, CudaOutOfMemoryException failed) {
        long refused = plan.choice().workspaceBytes();
        for (int i = plan.current() + 1; i < plan.choices().size(); i++) {
            Choice next = plan.choices().get(i);
            if (next.workspaceBytes() >= refused) continue;
            try {
                workspace(next.workspaceBytes(), key);
            } catch (CudaOutOfMemoryException again) {
                refused = next.workspaceBytes();
                continue;
            }
            if (tensorOps(key)) cudnn.setConvolutionMathType(plan.convDesc(), next.mathType(), key.toString());
            return plan.using(i);
        }
        throw failed;
    }

    /** How many convolution shapes had to give up their fastest algorithm for want of workspace memory. */
    int fallbacks() {
        return (int) plans.values().stream().filter(p -> p.current() > 0).count();
    }

    private Plan plan(ConvKey key, long in, long filter, long out, Preserver preserver) {
        String what = key.toString();
        List<Runnable> undo = new ArrayList<>();
        try {
            int type = dataType(key.dtype());
            MemorySegment inDesc = cudnn.createTensorDescriptor();
            undo.add(() -> cudnn.destroyTensorDescriptor(inDesc));
            cudnn.setTensorNd(inDesc, type, new int[] {key.n(), key.c(), key.h(), key.w()}, stridesOf(key.inBatchStride(), key.c(), key.h(), key.w()), what);
            MemorySegment outDesc = cudnn.createTensorDescriptor();
            undo.add(() -> cudnn.destroyTensorDescriptor(outDesc));
            cudnn.setTensorNd(outDesc, type, new int[] {key.n(), key.k(), key.p(), key.q()}, stridesOf(key.outBatchStride(), key.k(), key.p(), key.q()), what);
            MemorySegment filterDesc = cudnn.createFilterDescriptor();
            undo.add(() -> cudnn.destroyFilterDescriptor(filterDesc));
            cudnn.setFilter4d(filterDesc, type, Cudnn.TENSOR_NCHW, key.k(), key.c(), key.r(), key.s(), what);
            MemorySegment convDesc = cudnn.createConvolutionDescriptor();
            undo.add(() -> cudnn.destroyConvolutionDescriptor(convDesc));
            cudnn.setConvolution2d(convDesc, key.pad(), key.stride(), what);   // float accumulation in every type
            // FMA_MATH keeps float32 products; DEFAULT_MATH would let Ampere and newer GPUs round inputs to TF32. 16-bit
            // operands lose nothing on tensor cores (their products are exact in float32), so they take TENSOR_OP_MATH.
            cudnn.setConvolutionMathType(convDesc, tensorOps(key) ? Cudnn.TENSOR_OP_MATH : Cudnn.FMA_MATH, what);

            // cuDNN's argument order per pass: (a, b) -> result, with descriptors to match.
            MemorySegment aDesc, bDesc, resDesc;
            long a, b, res;
            switch (key.op()) {
                case FORWARD -> { aDesc = inDesc; a = in; bDesc = filterDesc; b = filter; resDesc = outDesc; res = out; }
                case BACKWARD_DATA -> { aDesc = filterDesc; a = filter; bDesc = outDesc; b = out; resDesc = inDesc; res = in; }
                default -> { aDesc = inDesc; a = in; bDesc = outDesc; b = out; resDesc = filterDesc; res = filter; }
            }
            int count = cudnn.algorithmCount(handle, key.op());
            long need = 0;
            for (int algo = 0; algo < count; algo++) {
                need = Math.max(need, cudnn.workspaceSizeOrMinusOne(handle, key.op(), aDesc, bDesc, convDesc, resDesc, algo));
            }
            long searchBytes = Math.min(need, Math.min(SEARCH_WORKSPACE_CAP, device.freeBytes() / 2));
            List<Choice> usable = search(key, aDesc, a, bDesc, b, convDesc, resDesc, res, count, searchBytes, preserver);
            // With tensor ops allowed the descriptor takes the math type the algorithm was timed with, as PyTorch does.
            if (tensorOps(key)) cudnn.setConvolutionMathType(convDesc, usable.getFirst().mathType(), what);
            return new Plan(inDesc, filterDesc, convDesc, outDesc, usable, 0);
        } catch (RuntimeException e) {
            for (int i = undo.size() - 1; i >= 0; i--) {
                try {
                    undo.get(i).run();
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** Whether this call may run on tensor cores: with TF32 allowed, and always in 16 bits (no input is rounded further). */
    private boolean tensorOps(ConvKey key) {
        return tf32 || key.dtype() != DType.F32;
    }

    /** The cudnnDataType_t of a call's tensors and filter. */
    static int dataType(DType t) {
        return switch (t) {
            case F32 -> Cudnn.DATA_FLOAT;
            case BF16 -> Cudnn.DATA_BFLOAT16;
            case F16 -> Cudnn.DATA_HALF;
            default -> throw new IllegalArgumentException("cuDNN convolutions run in float32, bfloat16 or float16, not " + t);
        };
    }

    /** {stride(0), H*W, W, 1} of a channel-slice layout; ConvKey.of has checked that these fit in an int. */
    private static int[] stridesOf(long batchStride, int c, int h, int w) {
        return new int[] {(int) batchStride, h * w, w, 1};
    }

    /** Times the algorithms: those that ran and keep to the math policy, fastest first (at least one). */
    private List<Choice> search(ConvKey key, MemorySegment aDesc, long a, MemorySegment bDesc, long b, MemorySegment convDesc,
                         MemorySegment resDesc, long res, int count, long searchBytes, Preserver preserver) {
        DeviceAllocator.Block scratch = null;
        // A search with less workspace only leaves out the hungriest algorithms: halve it rather than fail.
        while (searchBytes > 0 && scratch == null) {
            try {
                scratch = allocator.allocate(searchBytes, "cuDNN's algorithm search for " + key);
            } catch (CudaOutOfMemoryException e) {
                searchBytes = searchBytes < 1 << 20 ? 0 : searchBytes / 2;
            }
        }
        try (Arena local = Arena.ofConfined(); AutoCloseable saved = preserver == null ? null : preserver.preserve()) {
            MemorySegment perf = local.allocate(Cudnn.ALGO_PERF, count);
            int returned = cudnn.find(handle, key.op(), aDesc, a, bDesc, b, convDesc, resDesc, res, perf,
                    scratch == null ? 0 : scratch.address(), searchBytes, key);
            StringBuilder tried = new StringBuilder();
            List<Choice> usable = new ArrayList<>();
            for (int i = 0; i < returned; i++) {
                long at = i * Cudnn.ALGO_PERF.byteSize();
                int algo = perf.get(JAVA_INT, at + Cudnn.PERF_ALGO);
                int status = perf.get(JAVA_INT, at + Cudnn.PERF_STATUS);
                int math = perf.get(JAVA_INT, at + Cudnn.PERF_MATH_TYPE);
                long memory = perf.get(JAVA_LONG, at + Cudnn.PERF_MEMORY);
                boolean tensorOps = math == Cudnn.TENSOR_OP_MATH || math == Cudnn.TENSOR_OP_MATH_ALLOW_CONVERSION;
                if (status == Cudnn.STATUS_SUCCESS && (tensorOps(key) || !tensorOps)) {
                    usable.add(new Choice(algo, math, memory));
                    continue;
                }
                tried.append(tried.isEmpty() ? "" : ", ").append("algo ").append(algo).append(": ")
                        .append(status == Cudnn.STATUS_SUCCESS ? "tensor-op math, which TF32-off excludes" : cudnn.describe(status));
            }
            if (!usable.isEmpty()) return List.copyOf(usable);
            throw new IllegalStateException(key + ": cuDNN found no usable algorithm (" + (tried.isEmpty() ? "none returned" : tried) + ")");
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(key + ": restoring the output after the algorithm search failed", e);
        } finally {
            if (scratch != null) {
                allocator.free(scratch);
                // The search may have wanted gigabytes; hand them back rather than keep them cached.
                allocator.emptyCache();
            }
        }
    }

    @Override
    public void close() {
        for (Plan p : plans.values()) {
            cudnn.destroyTensorDescriptor(p.inDesc());
            cudnn.destroyTensorDescriptor(p.outDesc());
            cudnn.destroyFilterDescriptor(p.filterDesc());
            cudnn.destroyConvolutionDescriptor(p.convDesc());
        }
        plans.clear();
        workspace.close();
        cudnn.destroyHandle(handle);
        arena.close();
    }
}
