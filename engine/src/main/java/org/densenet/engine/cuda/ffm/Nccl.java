package org.densenet.engine.cuda.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

import org.densenet.engine.cuda.CudaException;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The NCCL calls data-parallel training needs, bound through FFM (nccl.h 2.18 and later). Every
 * result is checked by {@link #check}, whose message names the operation, the call, NCCL's name
 * and text for the result and {@code ncclGetLastError}'s detail. Buffers are device addresses and
 * streams are CUstreams, passed as raw values: NCCL works on whatever the caller's context owns.
 */
public final class Nccl {
    /** 2.18.0: the first release with ncclCommGetAsyncError's non-blocking companions and a stable ncclGetLastError. */
    public static final int MIN_VERSION = 21800;
    public static final int UNIQUE_ID_BYTES = 128;

    // ncclDataType_t
    public static final int INT32 = 2;
    public static final int INT64 = 4;
    public static final int FLOAT16 = 6;
    public static final int FLOAT32 = 7;
    public static final int FLOAT64 = 8;
    public static final int BFLOAT16 = 9;
    // ncclRedOp_t
    public static final int SUM = 0;
    public static final int MAX = 2;
    public static final int AVG = 4;
    // ncclResult_t
    public static final int SUCCESS = 0;
    public static final int REMOTE_ERROR = 6;
    private static final String[] RESULT_NAMES = {"ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError", "ncclInternalError",
            "ncclInvalidArgument", "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress", "ncclTimeout"};

    /** ncclUniqueId, passed by value to ncclCommInitRank. */
    private static final StructLayout UNIQUE_ID = MemoryLayout.structLayout(MemoryLayout.sequenceLayout(UNIQUE_ID_BYTES, JAVA_BYTE));

    private final String where;
    private final MethodHandle getVersion;
    private final MethodHandle getUniqueId;
    private final MethodHandle initRank;
    private final MethodHandle allReduce;
    private final MethodHandle broadcast;
    private final MethodHandle groupStart;
    private final MethodHandle groupEnd;
    private final MethodHandle asyncError;
    private final MethodHandle abort;
    private final MethodHandle destroy;
    private final MethodHandle errorString;
    private final MethodHandle lastError;

    public Nccl(NativeLibrary lib, String where) {
        this.where = where;
        getVersion = lib.function("ncclGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getUniqueId = lib.function("ncclGetUniqueId", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        // (ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank)
        initRank = lib.function("ncclCommInitRank", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, UNIQUE_ID, JAVA_INT));
        // (const void* send, void* recv, size_t count, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t)
        allReduce = lib.function("ncclAllReduce", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        // (const void* send, void* recv, size_t count, ncclDataType_t, int root, ncclComm_t, cudaStream_t)
        broadcast = lib.function("ncclBroadcast", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        groupStart = lib.function("ncclGroupStart", FunctionDescriptor.of(JAVA_INT));
        groupEnd = lib.function("ncclGroupEnd", FunctionDescriptor.of(JAVA_INT));
        asyncError = lib.function("ncclCommGetAsyncError", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        abort = lib.function("ncclCommAbort", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("ncclCommDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        errorString = lib.function("ncclGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        lastError = lib.function("ncclGetLastError", FunctionDescriptor.of(ADDRESS, ADDRESS));
    }

    /** Where the library was loaded from, as the search reports it. */
    public String where() {
        return where;
    }

    /** NCCL_VERSION_CODE of the loaded library: 23007 for 2.30.7. */
    public int version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            check((int) getVersion.invokeExact(v), "reading the NCCL version", "ncclGetVersion", MemorySegment.NULL);
            return v.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    /** "2.30.7"; codes before 2.9 had one digit for the minor version (NCCL_VERSION in nccl.h). */
    public static String describeVersion(int code) {
        if (code < 20900) return code / 1000 + "." + code % 1000 / 100 + "." + code % 100;
        return code / 10000 + "." + code % 10000 / 100 + "." + code % 100;
    }

    /** A fresh ncclUniqueId: rank 0 makes it and hands it to every other rank before they all call {@link #initRank}. */
    public byte[] uniqueId() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment id = arena.allocate(UNIQUE_ID);
            check((int) getUniqueId.invokeExact(id), "making the NCCL unique id", "ncclGetUniqueId", MemorySegment.NULL);
            return id.toArray(JAVA_BYTE);
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    /**
     * Joins communicator {@code uniqueId} as {@code rank} of {@code nranks}, on the CUDA device current
     * on the calling thread. Blocks until every rank has joined.
     */
    public NcclComm initRank(int nranks, byte[] uniqueId, int rank) {
        if (uniqueId.length != UNIQUE_ID_BYTES) {
            throw new IllegalArgumentException("an NCCL unique id has " + UNIQUE_ID_BYTES + " bytes, got " + uniqueId.length);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            MemorySegment id = arena.allocate(UNIQUE_ID);
            MemorySegment.copy(uniqueId, 0, id, JAVA_BYTE, 0, UNIQUE_ID_BYTES);
            int status = (int) initRank.invokeExact(out, nranks, id, rank);
            check(status, "joining the NCCL communicator as rank " + rank + " of " + nranks, "ncclCommInitRank", MemorySegment.NULL);
            return new NcclComm(this, out.get(ADDRESS, 0), rank, nranks);
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    int allReduce(long send, long recv, long count, int dataType, int op, MemorySegment comm, long stream) throws Throwable {
        return (int) allReduce.invokeExact(MemorySegment.ofAddress(send), MemorySegment.ofAddress(recv), count, dataType, op, comm,
                MemorySegment.ofAddress(stream));
    }

    int broadcast(long send, long recv, long count, int dataType, int root, MemorySegment comm, long stream) throws Throwable {
        return (int) broadcast.invokeExact(MemorySegment.ofAddress(send), MemorySegment.ofAddress(recv), count, dataType, root, comm,
                MemorySegment.ofAddress(stream));
    }

    /** Opens a group: the collectives issued until {@link #groupEnd} are launched together. */
    public void groupStart() {
        try {
            check((int) groupStart.invokeExact(), "opening an NCCL group", "ncclGroupStart", MemorySegment.NULL);
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    public void groupEnd(String op) {
        try {
            check((int) groupEnd.invokeExact(), op, "ncclGroupEnd", MemorySegment.NULL);
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    int asyncError(MemorySegment comm) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check((int) asyncError.invokeExact(comm, out), "polling the NCCL communicator", "ncclCommGetAsyncError", comm);
            return out.get(JAVA_INT, 0);
        }
    }

    int abort(MemorySegment comm) throws Throwable {
        return (int) abort.invokeExact(comm);
    }

    int destroy(MemorySegment comm) throws Throwable {
        return (int) destroy.invokeExact(comm);
    }

    /** Throws {@link CudaException} for any result but success; comm may be NULL (then NCCL's global last error is used). */
    public void check(int result, String op, String call, MemorySegment comm) {
        if (result != SUCCESS) throw new CudaException(op, call, result, describe(result, comm));
    }

    /** "ncclInvalidArgument (4): invalid argument (run with NCCL_DEBUG=WARN for details): nranks 0 is outside 1..64". */
    public String describe(int result, MemorySegment comm) {
        String name = result >= 0 && result < RESULT_NAMES.length ? RESULT_NAMES[result] : "NCCL result";
        String text = "", detail = "";
        try {
            text = cString((MemorySegment) errorString.invokeExact(result));
            detail = cString((MemorySegment) lastError.invokeExact(comm));
        } catch (Throwable ignored) {
            // the code and its name still say what happened
        }
        return name + " (" + result + ")" + (text.isEmpty() ? "" : ": " + text) + (detail.isEmpty() ? "" : ": " + detail);
    }

    private static String cString(MemorySegment s) {
        return s.address() == 0 ? "" : s.reinterpret(Long.MAX_VALUE).getString(0).strip();
    }
}
