package org.densenet.engine;

/**
 * Times one region of work queued on a backend: {@link #start()} before the ops, {@link #stop()}
 * after them, {@link #elapsedNanos()} once the result is wanted. A timer is reused: each start
 * begins a new measurement. Devices with their own clocks (CUDA events) give a timer that does
 * not stall the queue; {@link #host(Backend)} is the fallback every backend has.
 */
public interface OpTimer extends AutoCloseable {

    void start();

    void stop();

    /** Nanoseconds between the last start and stop; waits for the timed work to finish if it must. */
    long elapsedNanos();

    /** Releases device resources (events); a host timer holds none. */
    @Override
    default void close() {
    }

    /**
     * Host clock around a synchronised region: start and stop each wait for the queue, so the
     * time is that of the ops and not of queueing them. On a synchronous backend the waits are free.
     */
    static OpTimer host(Backend backend) {
        return new HostOpTimer(backend, true);
    }

    /**
     * Host clock around the queueing of a region: start waits for the queue to drain, stop does not
     * wait, so the time is what the host spends issuing the region's work (driver and library calls
     * included) and never includes waiting for a full queue.
     */
    static OpTimer issue(Backend backend) {
        return new HostOpTimer(backend, false);
    }
}
