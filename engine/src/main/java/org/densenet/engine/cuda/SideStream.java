package org.densenet.engine.cuda;

import jcuda.driver.CUevent;

/**
 * A second stream of a CUDA backend, for work that runs beside its ops: NCCL's all-reduces, so that
 * a gradient bucket is averaged while backward goes on. Ordering between the two streams goes
 * through events, never through the host: {@link #follow} makes what is queued here next wait for
 * everything queued on the backend's stream so far, {@link #join} makes the backend's stream wait for
 * everything queued here so far. Two markers (timing off) serve every call: an event may be
 * recorded again once a wait on it has been queued, since the wait takes the event's state when queued.
 */
final class SideStream implements AutoCloseable {
    private final CudaContext ctx;
    private final CudaContext.RawStream stream;
    private final CUevent computeMark;
    private final CUevent sideMark;

    SideStream(CudaContext ctx) {
        this.ctx = ctx;
        this.stream = ctx.newStream("making a second stream for collectives");
        this.computeMark = ctx.newMarker();
        this.sideMark = ctx.newMarker();
    }

    long address() {
        return stream.address();
    }

    /** What is queued here next runs after everything queued on the backend's stream so far ({@code op} names it in errors). */
    void follow(String op) {
        ctx.record(computeMark, op);
        ctx.streamWait(stream, computeMark, op);
    }

    /** What is queued on the backend's stream next runs after everything queued here so far. */
    void join(String op) {
        ctx.record(sideMark, stream, op);
        ctx.streamWait(null, sideMark, op);
    }

    /** The host waits until everything queued here has run. */
    void synchronize(String op) {
        ctx.synchronize(stream, op);
    }

    /** Records {@code e} on this stream (a timer's mark). */
    void record(CUevent e, String op) {
        ctx.record(e, stream, op);
    }

    @Override
    public void close() {
        ctx.destroyStream(stream);
        ctx.destroyEvent(computeMark);
        ctx.destroyEvent(sideMark);
    }
}
