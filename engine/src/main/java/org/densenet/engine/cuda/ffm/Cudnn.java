package org.densenet.engine.cuda.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import org.densenet.engine.cuda.CudaException;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuDNN 9's legacy convolution API (cudnn_graph / cudnn_ops / cudnn_cnn), bound through FFM.
 * Handles and descriptors are opaque pointers ({@link MemorySegment}s of size 0); device buffers
 * are passed as raw addresses. Every call that returns a status goes through {@link #check},
 * which names the operation, the call and cuDNN's own message.
 */
public final class Cudnn {
    // cudnnDataType_t, cudnnTensorFormat_t, cudnnConvolutionMode_t
    public static final int DATA_FLOAT = 0;
    public static final int DATA_HALF = 2;
    public static final int DATA_BFLOAT16 = 9;
    public static final int TENSOR_NCHW = 0;
    /** A filter format: [K, R, S, C] in memory (tensors say NHWC through their strides instead). */
    public static final int TENSOR_NHWC = 1;
    public static final int CROSS_CORRELATION = 1;
    // cudnnMathType_t
    public static final int DEFAULT_MATH = 0;
    public static final int TENSOR_OP_MATH = 1;
    public static final int TENSOR_OP_MATH_ALLOW_CONVERSION = 2;
    public static final int FMA_MATH = 3;
    public static final int STATUS_SUCCESS = 0;

    /**
     * cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t (all three alike): algo, status, time,
     * size_t memory (8-aligned, so 4 bytes of padding before it), determinism, mathType, int reserved[3].
     */
    public static final StructLayout ALGO_PERF = MemoryLayout.structLayout(
            JAVA_INT.withName("algo"),
            JAVA_INT.withName("status"),
            JAVA_FLOAT.withName("time"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("memory"),
            JAVA_INT.withName("determinism"),
            JAVA_INT.withName("mathType"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("reserved"),
            MemoryLayout.paddingLayout(4));
    public static final long PERF_ALGO = ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("algo"));
    public static final long PERF_STATUS = ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("status"));
    public static final long PERF_TIME = ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("time"));
    public static final long PERF_MEMORY = ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("memory"));
    public static final long PERF_MATH_TYPE = ALGO_PERF.byteOffset(MemoryLayout.PathElement.groupElement("mathType"));

    private final MethodHandle getVersion;
    private final MethodHandle getCudartVersion;
    private final MethodHandle getErrorString;
    private final Optional<MethodHandle> getLastErrorString;
    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setStream;
    private final MethodHandle createTensor;
    private final MethodHandle setTensorNd;
    private final MethodHandle destroyTensor;
    private final MethodHandle createFilter;
    private final MethodHandle setFilter4d;
    private final MethodHandle destroyFilter;
    private final MethodHandle createConv;
    private final MethodHandle setConv2d;
    private final MethodHandle setConvMathType;
    private final MethodHandle destroyConv;
    private final MethodHandle[] maxCount = new MethodHandle[3];
    private final MethodHandle[] findEx = new MethodHandle[3];
    private final MethodHandle[] heuristic = new MethodHandle[3];
    private final MethodHandle[] workspaceSize = new MethodHandle[3];
    private final MethodHandle[] run = new MethodHandle[3];

    public Cudnn(NativeLibrary lib) {
        FunctionDescriptor statusOfPtr = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        getVersion = lib.function("cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
        getCudartVersion = lib.function("cudnnGetCudartVersion", FunctionDescriptor.of(JAVA_LONG));
        getErrorString = lib.function("cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        getLastErrorString = lib.find("cudnnGetLastErrorString")
                .map(a -> lib.function("cudnnGetLastErrorString", FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG)));
        create = lib.function("cudnnCreate", statusOfPtr);
        destroy = lib.function("cudnnDestroy", statusOfPtr);
        setStream = lib.function("cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        createTensor = lib.function("cudnnCreateTensorDescriptor", statusOfPtr);
        // (desc, dataType, nbDims, const int dimA[], const int strideA[])
        setTensorNd = lib.function("cudnnSetTensorNdDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        destroyTensor = lib.function("cudnnDestroyTensorDescriptor", statusOfPtr);
        createFilter = lib.function("cudnnCreateFilterDescriptor", statusOfPtr);
        // (desc, dataType, format, k, c, h, w)
        setFilter4d = lib.function("cudnnSetFilter4dDescriptor",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyFilter = lib.function("cudnnDestroyFilterDescriptor", statusOfPtr);
        createConv = lib.function("cudnnCreateConvolutionDescriptor", statusOfPtr);
        // (desc, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, computeType)
        setConv2d = lib.function("cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setConvMathType = lib.function("cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        destroyConv = lib.function("cudnnDestroyConvolutionDescriptor", statusOfPtr);

        FunctionDescriptor countOf = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
        // find: (handle, aDesc, a, bDesc, b, convDesc, outDesc, out, requested, int* returned, perf*, workSpace, wsBytes)
        FunctionDescriptor find = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
        // workspace size: (handle, aDesc, bDesc, convDesc, outDesc, algo, size_t*)
        FunctionDescriptor ws = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
        // run: (handle, alpha*, aDesc, a, bDesc, b, convDesc, algo, workSpace, wsBytes, beta*, outDesc, out)
        // heuristics (_v7): (handle, aDesc, bDesc, convDesc, outDesc, requested, int* returned, perf*)
        FunctionDescriptor guess = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        FunctionDescriptor exec = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
        for (ConvOp op : ConvOp.values()) {
            int i = op.ordinal();
            maxCount[i] = lib.function(op.maxCountCall, countOf);
            findEx[i] = lib.function(op.findCall, find);
            heuristic[i] = lib.function(op.heuristicCall, guess);
            workspaceSize[i] = lib.function(op.workspaceCall, ws);
            run[i] = lib.function(op.runCall, exec);
        }
    }

    /**
     * The three convolution passes. For each, the two inputs (a, b) and the output appear in the
     * order cuDNN's signatures take them: forward (x, w -> y), backward data (w, dy -> dx),
     * backward filter (x, dy -> dw). The filter descriptor is the one for w (forward, data) or dw.
     */
    public enum ConvOp {
        FORWARD("conv forward", "Forward"),
        BACKWARD_DATA("conv backward data", "BackwardData"),
        BACKWARD_FILTER("conv backward filter", "BackwardFilter");

        public final String label;
        final String maxCountCall;
        final String findCall;
        final String workspaceCall;
        final String runCall;
        final String heuristicCall;

        /** {@code pass}: how cuDNN spells the pass inside its function names. */
        ConvOp(String label, String pass) {
            this.label = label;
            this.maxCountCall = "cudnnGetConvolution" + pass + "AlgorithmMaxCount";
            this.findCall = "cudnnFindConvolution" + pass + "AlgorithmEx";
            this.workspaceCall = "cudnnGetConvolution" + pass + "WorkspaceSize";
            this.runCall = "cudnnConvolution" + pass;
            this.heuristicCall = "cudnnGetConvolution" + pass + "Algorithm_v7";
        }
    }

    // ---- library -----------------------------------------------------------------------

    /** E.g. 91400 for cuDNN 9.14.0. */
    public long version() {
        try {
            return (long) getVersion.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The CUDA runtime version cuDNN was built for, e.g. 13000; its major picks the matching cuBLAS. */
    public long cudartVersion() {
        try {
            return (long) getCudartVersion.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void check(int status, String op, String call) {
        if (status != STATUS_SUCCESS) throw new CudaException(op, call, status, describe(status));
    }

    /** "CUDNN_STATUS_NOT_SUPPORTED": a status's name alone, for per-algorithm results, which the last error text does not describe. */
    public String statusName(int status) {
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(status);
            return s.address() == 0 ? "status " + status : s.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            return "status " + status;
        }
    }

    /** "CUDNN_STATUS_BAD_PARAM (2000): <cuDNN's last error text>". */
    public String describe(int status) {
        StringBuilder sb = new StringBuilder();
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(status);
            sb.append(s.address() == 0 ? "cuDNN status" : s.reinterpret(Long.MAX_VALUE).getString(0));
        } catch (Throwable t) {
            sb.append("cuDNN status");
        }
        sb.append(" (").append(status).append(')');
        if (getLastErrorString.isPresent()) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(1024);
                getLastErrorString.get().invokeExact(buf, 1024L);
                String last = buf.getString(0).strip().replace('\n', ' ');
                if (!last.isEmpty()) sb.append(": ").append(last);
            } catch (Throwable ignored) {
                // the status itself is already in the message
            }
        }
        return sb.toString();
    }

    // ---- handle and descriptors ---------------------------------------------------------

    public MemorySegment createHandle() {
        return createObject(create, "cudnnCreate");
    }

    public void destroyHandle(MemorySegment handle) {
        destroyObject(destroy, handle, "cudnnDestroy");
    }

    public void setStream(MemorySegment handle, long stream) {
        try {
            check((int) setStream.invokeExact(handle, MemorySegment.ofAddress(stream)), "binding cuDNN to the stream", "cudnnSetStream");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public MemorySegment createTensorDescriptor() {
        return createObject(createTensor, "cudnnCreateTensorDescriptor");
    }

    /** An N-d float tensor with explicit strides (in elements): how channel slices are described. */
    public void setTensorNd(MemorySegment desc, int[] dims, int[] strides, String op) {
        setTensorNd(desc, DATA_FLOAT, dims, strides, op);
    }

    /** As {@link #setTensorNd(MemorySegment, int[], int[], String)} with a cudnnDataType_t, e.g. {@link #DATA_HALF}. */
    public void setTensorNd(MemorySegment desc, int dataType, int[] dims, int[] strides, String op) {
        try (Arena arena = Arena.ofConfined()) {
            int status = (int) setTensorNd.invokeExact(desc, dataType, dims.length,
                    arena.allocateFrom(JAVA_INT, dims), arena.allocateFrom(JAVA_INT, strides));
            check(status, op, "cudnnSetTensorNdDescriptor");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void destroyTensorDescriptor(MemorySegment desc) {
        destroyObject(destroyTensor, desc, "cudnnDestroyTensorDescriptor");
    }

    public MemorySegment createFilterDescriptor() {
        return createObject(createFilter, "cudnnCreateFilterDescriptor");
    }

    /** A dense float filter [K, C, R, S]. */
    public void setFilter4d(MemorySegment desc, int k, int c, int r, int s, String op) {
        setFilter4d(desc, DATA_FLOAT, TENSOR_NCHW, k, c, r, s, op);
    }

    /** A dense filter of a cudnnDataType_t, [K, C, R, S] ({@link #TENSOR_NCHW}) or [K, R, S, C] ({@link #TENSOR_NHWC}) in memory. */
    public void setFilter4d(MemorySegment desc, int dataType, int format, int k, int c, int r, int s, String op) {
        try {
            check((int) setFilter4d.invokeExact(desc, dataType, format, k, c, r, s), op, "cudnnSetFilter4dDescriptor");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void destroyFilterDescriptor(MemorySegment desc) {
        destroyObject(destroyFilter, desc, "cudnnDestroyFilterDescriptor");
    }

    public MemorySegment createConvolutionDescriptor() {
        return createObject(createConv, "cudnnCreateConvolutionDescriptor");
    }

    /** Cross-correlation (what deep-learning frameworks call convolution), float accumulation, no dilation. */
    public void setConvolution2d(MemorySegment desc, int pad, int stride, String op) {
        try {
            check((int) setConv2d.invokeExact(desc, pad, pad, stride, stride, 1, 1, CROSS_CORRELATION, DATA_FLOAT),
                    op, "cudnnSetConvolution2dDescriptor");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void setConvolutionMathType(MemorySegment desc, int mathType, String op) {
        try {
            check((int) setConvMathType.invokeExact(desc, mathType), op, "cudnnSetConvolutionMathType");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public void destroyConvolutionDescriptor(MemorySegment desc) {
        destroyObject(destroyConv, desc, "cudnnDestroyConvolutionDescriptor");
    }

    // ---- convolutions -------------------------------------------------------------------

    /** How many algorithms cuDNN has for this pass (the size of the perf array for {@link #find}). */
    public int algorithmCount(MemorySegment handle, ConvOp op) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(JAVA_INT);
            check((int) maxCount[op.ordinal()].invokeExact(handle, n), op.label, op.maxCountCall);
            return n.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Runs every algorithm once on the given buffers (the output is overwritten) and fills
     * {@code perf} (an array of {@link #ALGO_PERF}) fastest first; returns how many were written.
     */
    public int find(MemorySegment handle, ConvOp op, MemorySegment aDesc, long a, MemorySegment bDesc, long b,
                    MemorySegment convDesc, MemorySegment outDesc, long out, MemorySegment perf, long workspace,
                    long workspaceBytes, Object what) {
        int requested = (int) (perf.byteSize() / ALGO_PERF.byteSize());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment returned = arena.allocate(JAVA_INT);
            int status = (int) findEx[op.ordinal()].invokeExact(handle, aDesc, MemorySegment.ofAddress(a), bDesc,
                    MemorySegment.ofAddress(b), convDesc, outDesc, MemorySegment.ofAddress(out), requested, returned, perf,
                    MemorySegment.ofAddress(workspace), workspaceBytes);
            if (status != STATUS_SUCCESS) check(status, String.valueOf(what), op.findCall);
            return returned.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * cuDNN's heuristics (cudnnGetConvolution*Algorithm_v7): which algorithms it would run on these
     * descriptors, best first, without running any. Fills {@code perf} as {@link #find} does (times are
     * not measured) and returns how many were written.
     */
    public int heuristic(MemorySegment handle, ConvOp op, MemorySegment aDesc, MemorySegment bDesc, MemorySegment convDesc,
                         MemorySegment outDesc, MemorySegment perf, Object what) {
        int requested = (int) (perf.byteSize() / ALGO_PERF.byteSize());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment returned = arena.allocate(JAVA_INT);
            int status = (int) heuristic[op.ordinal()].invokeExact(handle, aDesc, bDesc, convDesc, outDesc, requested, returned, perf);
            if (status != STATUS_SUCCESS) check(status, String.valueOf(what), op.heuristicCall);
            return returned.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Workspace bytes one algorithm needs, or -1 when cuDNN says the algorithm does not apply to
     * these shapes (that answer is expected while sizing the search, so it is not an error).
     */
    public long workspaceSizeOrMinusOne(MemorySegment handle, ConvOp op, MemorySegment aDesc, MemorySegment bDesc,
                                        MemorySegment convDesc, MemorySegment outDesc, int algo) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(JAVA_LONG);
            int status = (int) workspaceSize[op.ordinal()].invokeExact(handle, aDesc, bDesc, convDesc, outDesc, algo, size);
            return status == STATUS_SUCCESS ? size.get(JAVA_LONG, 0) : -1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * out = alpha * op(a, b) + beta * out, with alpha and beta host floats. {@code what} describes the
     * call for an error message and is only turned into a string when there is one.
     */
    public void run(MemorySegment handle, ConvOp op, MemorySegment alpha, MemorySegment aDesc, long a, MemorySegment bDesc,
                    long b, MemorySegment convDesc, int algo, long workspace, long workspaceBytes, MemorySegment beta,
                    MemorySegment outDesc, long out, Object what) {
        try {
            int status = (int) run[op.ordinal()].invokeExact(handle, alpha, aDesc, MemorySegment.ofAddress(a), bDesc,
                    MemorySegment.ofAddress(b), convDesc, algo, MemorySegment.ofAddress(workspace), workspaceBytes, beta,
                    outDesc, MemorySegment.ofAddress(out));
            if (status != STATUS_SUCCESS) check(status, String.valueOf(what), op.runCall);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- helpers ------------------------------------------------------------------------

    private MemorySegment createObject(MethodHandle fn, String call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((int) fn.invokeExact(out), "creating a cuDNN object", call);
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private void destroyObject(MethodHandle fn, MemorySegment object, String call) {
        try {
            check((int) fn.invokeExact(object), "freeing a cuDNN object", call);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("native call failed", t);
    }
}
