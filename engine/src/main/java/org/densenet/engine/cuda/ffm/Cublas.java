package org.densenet.engine.cuda.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import org.densenet.engine.cuda.CudaException;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few cuBLAS calls the engine needs (column-major SGEMM), bound through FFM.
 * Scalars are host pointers (cuBLAS's default pointer mode). Every status is checked by
 * {@link #check} with cuBLAS's own name and text for it.
 */
public final class Cublas {
    // cublasOperation_t
    public static final int OP_N = 0;
    public static final int OP_T = 1;
    // cublasMath_t: DEFAULT keeps SGEMM in full float32; TF32_TENSOR_OP lets it round inputs to TF32.
    public static final int DEFAULT_MATH = 0;
    public static final int TF32_TENSOR_OP_MATH = 3;
    // libraryPropertyType
    private static final int MAJOR_VERSION = 0;
    private static final int MINOR_VERSION = 1;
    private static final int PATCH_LEVEL = 2;
    public static final int STATUS_SUCCESS = 0;

    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle setStream;
    private final MethodHandle setWorkspace;
    private final MethodHandle setMathMode;
    private final MethodHandle getProperty;
    private final MethodHandle statusName;
    private final MethodHandle statusString;
    private final MethodHandle sgemm;

    public Cublas(NativeLibrary lib) {
        create = lib.function("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = lib.function("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        setWorkspace = lib.function("cublasSetWorkspace_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        setMathMode = lib.function("cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        getProperty = lib.function("cublasGetProperty", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        statusName = lib.function("cublasGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        statusString = lib.function("cublasGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        // (handle, transa, transb, m, n, k, const float* alpha, const float* A, lda, const float* B, ldb, const float* beta, float* C, ldc)
        sgemm = lib.function("cublasSgemm_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    }

    /** "13.1.0". */
    public String version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            int[] parts = new int[3];
            int[] types = {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL};
            for (int i = 0; i < 3; i++) {
                check((int) getProperty.invokeExact(types[i], v), "reading the cuBLAS version", "cublasGetProperty");
                parts[i] = v.get(JAVA_INT, 0);
            }
            return parts[0] + "." + parts[1] + "." + parts[2];
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    public void check(int status, String op, String call) {
        if (status != STATUS_SUCCESS) throw new CudaException(op, call, status, describe(status));
    }

    /** "CUBLAS_STATUS_INVALID_VALUE (7): an invalid numeric value was used as an argument". */
    public String describe(int status) {
        try {
            MemorySegment name = (MemorySegment) statusName.invokeExact(status);
            MemorySegment text = (MemorySegment) statusString.invokeExact(status);
            return cString(name, "cuBLAS status") + " (" + status + "): " + cString(text, "");
        } catch (Throwable t) {
            return "cuBLAS status " + status;
        }
    }

    private static String cString(MemorySegment s, String fallback) {
        return s.address() == 0 ? fallback : s.reinterpret(Long.MAX_VALUE).getString(0);
    }

    public MemorySegment createHandle() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((int) create.invokeExact(out), "starting cuBLAS", "cublasCreate_v2");
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    public void destroyHandle(MemorySegment handle) {
        try {
            check((int) destroy.invokeExact(handle), "closing cuBLAS", "cublasDestroy_v2");
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    public void setStream(MemorySegment handle, long stream) {
        try {
            check((int) setStream.invokeExact(handle, MemorySegment.ofAddress(stream)), "binding cuBLAS to the stream", "cublasSetStream_v2");
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    /**
     * The device memory cuBLAS works in, instead of the pool it would otherwise take it from, which a
     * stream capture cannot hold. cublasSetStream drops it again, so this comes after that.
     */
    public void setWorkspace(MemorySegment handle, long workspace, long bytes) {
        try {
            check((int) setWorkspace.invokeExact(handle, MemorySegment.ofAddress(workspace), bytes), "giving cuBLAS its workspace",
                    "cublasSetWorkspace_v2");
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    public void setMathMode(MemorySegment handle, int mode) {
        try {
            check((int) setMathMode.invokeExact(handle, mode), "setting the cuBLAS math mode", "cublasSetMathMode");
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    /** C = alpha * op(A) op(B) + beta * C, column-major, all matrices device addresses. */
    public void sgemm(MemorySegment handle, GemmCall g, long a, long b, long c, MemorySegment alpha, MemorySegment beta, String op) {
        try {
            int status = (int) sgemm.invokeExact(handle, g.transA(), g.transB(), g.m(), g.n(), g.k(), alpha,
                    MemorySegment.ofAddress(a), g.lda(), MemorySegment.ofAddress(b), g.ldb(), beta, MemorySegment.ofAddress(c), g.ldc());
            if (status != STATUS_SUCCESS) check(status, op + " " + g, "cublasSgemm_v2");
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }
}
