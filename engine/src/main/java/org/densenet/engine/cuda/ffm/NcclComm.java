package org.densenet.engine.cuda.ffm;

import java.lang.foreign.MemorySegment;

import org.densenet.engine.cuda.CudaException;

/**
 * One rank's NCCL communicator. Collectives are queued on a stream and return at once on a GPU;
 * a peer that never arrives shows up only as a stream that never drains, so the caller's watchdog
 * polls {@link #asyncError()} and ends a hung communicator with {@link #abort()}, which NCCL
 * allows from another thread while a collective is pending. Closing destroys it.
 */
public final class NcclComm implements AutoCloseable {
    private final Nccl nccl;
    private final int rank;
    private final int size;
    private volatile MemorySegment handle;

    NcclComm(Nccl nccl, MemorySegment handle, int rank, int size) {
        this.nccl = nccl;
        this.handle = handle;
        this.rank = rank;
        this.size = size;
    }

    /** The library this communicator belongs to (for groups). */
    public Nccl library() {
        return nccl;
    }

    public int rank() {
        return rank;
    }

    public int size() {
        return size;
    }

    /**
     * recv = op over every rank's send, {@code count} elements of {@code dataType}; send == recv is in
     * place. {@code what} names the operation in an error ("all-reduce of gradient bucket 3").
     */
    public void allReduce(long send, long recv, long count, int dataType, int op, long stream, String what) {
        MemorySegment h = live(what);
        try {
            int status = nccl.allReduce(send, recv, count, dataType, op, h, stream);
            if (status != Nccl.SUCCESS) nccl.check(status, what, "ncclAllReduce", detailSource(h));
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    /** recv = root's send on every rank; send is read only on the root. */
    public void broadcast(long send, long recv, long count, int dataType, int root, long stream, String what) {
        MemorySegment h = live(what);
        try {
            int status = nccl.broadcast(send, recv, count, dataType, root, h, stream);
            if (status != Nccl.SUCCESS) nccl.check(status, what, "ncclBroadcast", detailSource(h));
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    /** The communicator's asynchronous error: {@link Nccl#SUCCESS} while healthy. */
    public int asyncError() {
        try {
            return nccl.asyncError(live("polling the communicator"));
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    /** An exception for a non-success {@link #asyncError()}, naming what was pending. */
    public CudaException asyncFailure(int result, String pending) {
        return new CudaException("rank " + rank + " of " + size + " while " + pending, "ncclCommGetAsyncError", result,
                nccl.describe(result, handle == null ? MemorySegment.NULL : handle));
    }

    /** Ends the communicator and every collective pending on it; safe from a watchdog thread. Idempotent. */
    public void abort() {
        end(true);
    }

    public boolean isOpen() {
        return handle != null;
    }

    @Override
    public void close() {
        end(false);
    }

    private synchronized void end(boolean abort) {
        if (handle == null) return;
        MemorySegment h = handle;
        handle = null;
        try {
            int status = abort ? nccl.abort(h) : nccl.destroy(h);
            nccl.check(status, (abort ? "aborting" : "closing") + " rank " + rank + "'s communicator", abort ? "ncclCommAbort" : "ncclCommDestroy",
                    MemorySegment.NULL);
        } catch (Throwable t) {
            throw Cudnn.rethrow(t);
        }
    }

    /**
     * The communicator whose last error explains a failure, or NULL (NCCL's thread-wide last error)
     * when a watchdog aborted it meanwhile: an aborted communicator is freed and must not be read.
     */
    private MemorySegment detailSource(MemorySegment h) {
        return handle == null ? MemorySegment.NULL : h;
    }

    private MemorySegment live(String what) {
        MemorySegment h = handle;
        if (h == null) throw new IllegalStateException(what + ": rank " + rank + "'s communicator is closed or aborted");
        return h;
    }
}
