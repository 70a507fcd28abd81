package org.densenet.engine.cuda;

import jcuda.driver.CUevent;
import org.densenet.engine.OpTimer;

/** Times work on the backend's stream with two CUDA events: recording does not stall the queue, reading waits for the stop event. */
final class CudaTimer implements OpTimer {
    private final CudaContext ctx;
    private final CUevent start;
    private final CUevent stop;
    private boolean started;
    private boolean stopped;

    CudaTimer(CudaContext ctx) {
        this.ctx = ctx;
        ctx.bind();
        this.start = ctx.newEvent();
        this.stop = ctx.newEvent();
    }

    @Override
    public void start() {
        ctx.bind();
        ctx.record(start);
        started = true;
        stopped = false;
    }

    @Override
    public void stop() {
        if (!started) throw new IllegalStateException("timer stopped without a start");
        ctx.bind();
        ctx.record(stop);
        stopped = true;
    }

    @Override
    public long elapsedNanos() {
        if (!stopped) throw new IllegalStateException("timer read before it was stopped");
        ctx.bind();
        return Math.round(ctx.elapsedMillis(start, stop) * 1e6);
    }

    @Override
    public void close() {
        ctx.bind();
        ctx.destroyEvent(start);
        ctx.destroyEvent(stop);
    }
}
