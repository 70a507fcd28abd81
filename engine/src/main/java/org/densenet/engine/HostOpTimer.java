package org.densenet.engine;

/** {@link OpTimer#host(Backend)}: System.nanoTime around a region, with the backend synchronised at both ends. */
final class HostOpTimer implements OpTimer {
    private final Backend backend;
    private long begin;
    private long end;
    private boolean running;

    HostOpTimer(Backend backend) {
        this.backend = backend;
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
        backend.synchronize();
        end = System.nanoTime();
        running = false;
    }

    @Override
    public long elapsedNanos() {
        if (running) throw new IllegalStateException("timer read before it was stopped");
        return end - begin;
    }
}
