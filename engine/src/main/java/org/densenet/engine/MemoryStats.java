package org.densenet.engine;

/** Bytes held by a backend's allocator: now, and the most at any moment since the last reset. */
public record MemoryStats(long liveBytes, long peakBytes) {
    public MemoryStats {
        if (liveBytes < 0 || peakBytes < liveBytes) {
            throw new IllegalArgumentException("inconsistent memory stats: live " + liveBytes + ", peak " + peakBytes);
        }
    }
}
