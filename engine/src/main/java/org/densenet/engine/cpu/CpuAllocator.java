package org.densenet.engine.cpu;

import org.densenet.engine.MemoryStats;

/**
 * Counts the bytes of live {@link CpuStorage}s and their peak. The arrays themselves come from
 * the Java heap; scratch buffers the kernels keep between calls are not counted.
 */
final class CpuAllocator {
    private long live;
    private long peak;

    synchronized void acquire(long bytes) {
        live += bytes;
        if (live > peak) peak = live;
    }

    synchronized void release(long bytes) {
        live -= bytes;
    }

    synchronized MemoryStats stats() {
        return new MemoryStats(live, peak);
    }

    synchronized void resetPeak() {
        peak = live;
    }
}
