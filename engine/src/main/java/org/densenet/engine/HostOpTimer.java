package org.densenet.engine;

/**
 * {@link OpTimer#host(Backend)}: System.nanoTime around a region, with the backend synchronised at
 * both ends; {@link OpTimer#issue(Backend)}: synchronised at the start only, so the time is what
 * the host spends queueing the region's work.
 */
final class HostOpTimer implements OpTimer {
    private final Backend backend;
    private final boolean waitAtStop;
    private long begin;
    private long end;
    private boolean running;

    HostOpTimer(Backend backend, boolean waitAtStop) {
        this.backend = backend;
        this.waitAtStop = waitAtStop;
    }

    @Override
    public void start() {
        backend.synchronize();
        running = true;
        begin = System.nanoTime();
    }

    @Override
    public void stop() {
        if (!running) throw new IllegalStateException("timer stopped without a start");
        if (waitAtStop) backend.synchronize();
        end = System.nanoTime();
        running = false;
    }

    @Override
    public long elapsedNanos() {
        if (running) throw new IllegalStateException("timer read before it was stopped");
        return end - begin;
    }
}
