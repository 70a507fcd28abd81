package org.densenet.engine.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

import org.densenet.engine.GraphCaptureException;

/**
 * A caching allocator over raw device memory, in the spirit of PyTorch's: a freed block is kept
 * and handed out again for the next request of the same size class, so a training loop, which
 * asks for the same sizes every step, stops calling cuMemAlloc (slow, and synchronising) after
 * its first step. Reuse is safe because all work runs on one stream: a block freed by the host
 * is only written again by work queued after everything that used it.
 *
 * <p>Two counts: live bytes are the sizes tensors asked for (what {@code MemoryStats} reports,
 * comparable with the CPU backend); reserved bytes are what is held from the device, live or
 * cached, rounded up to size classes.
 */
public final class DeviceAllocator implements AutoCloseable {
    /** Every class is a multiple of this, so any float32/float64/int32 view is well aligned (cuMemAlloc gives 256-aligned bases). */
    public static final long ALIGNMENT = 256;
    private static final long SMALL_LIMIT = 1L << 20;

    /** A block of device memory: its address, its class size, and whatever the raw allocator needs to free it. */
    public record Block(long address, long bytes, Object handle) {
        public Block {
            if (bytes < 1) throw new IllegalArgumentException("a device block has at least one byte, got " + bytes);
        }
    }

    /** Where blocks really come from: cuMemAlloc / cuMemFree on a GPU, a fake in tests. */
    public interface RawMemory {
        /** A new block of exactly {@code bytes}, or null when the device is out of memory (other failures throw). */
        Block allocate(long bytes);

        void free(Block block);

        /** {free, total} bytes of the device, for the out-of-memory message. */
        long[] deviceMemory();

        /** Waits for all queued work: cached blocks may still be read by it when they are given back. */
        void synchronize();
    }

    private final RawMemory raw;
    private final Map<Long, ArrayDeque<Block>> cached = new HashMap<>();
    private final Map<Long, Live> live = new HashMap<>();
    private long liveBytes;
    private long peakLiveBytes;
    private long reservedBytes;
    private long peakReservedBytes;
    private long cachedBytes;
    private long rawAllocations;
    /** Blocks given back so far (freed or emptied from the cache), so that a captured graph rechecks its memory only after one was. */
    private long givenBack;
    /** What is being captured, or null: a capture must not allocate (its addresses would differ on replay). */
    private String capturing;
    private String freedWhileCapturing;

    public DeviceAllocator(RawMemory raw) {
        this.raw = raw;
    }

    /**
     * The size class of a request: small requests round up to {@link #ALIGNMENT}; from 1 MiB on,
     * four classes per power of two (1, 1.25, 1.5, 1.75 MiB, 2, 2.5, 3, 3.5 MiB, ...), so at most a
     * quarter of a block is slack and few distinct sizes exist to cache.
     */
    public static long sizeClass(long bytes) {
        if (bytes < 1) throw new IllegalArgumentException("allocation size must be >= 1 byte, got " + bytes);
        if (bytes <= SMALL_LIMIT) return roundUp(bytes, ALIGNMENT);
        long power = Long.highestOneBit(bytes);
        return roundUp(bytes, power / 4);
    }

    private static long roundUp(long v, long step) {
        return Math.ceilDiv(v, step) * step;
    }

    /** A block of at least {@code bytes}; {@code what} names the request in an out-of-memory message. */
    public synchronized Block allocate(long bytes, String what) {
        if (capturing != null) {
            throw new GraphCaptureException("allocating " + human(bytes) + " for " + what + " cannot be part of a captured " + capturing
                    + " (the allocation would not be repeated on replay)");
        }
        long size = sizeClass(bytes);
        ArrayDeque<Block> free = cached.get(size);
        Block b = free == null ? null : free.pollLast();
        if (b != null) {
            cachedBytes -= size;
        } else {
            b = raw.allocate(size);
            if (b == null) {
                emptyCache();
                b = raw.allocate(size);
            }
            if (b == null) throw outOfMemory(bytes, what);
            rawAllocations++;
            reservedBytes += size;
            peakReservedBytes = Math.max(peakReservedBytes, reservedBytes);
        }
        live.put(b.address(), new Live(b, bytes));
        liveBytes += bytes;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return b;
    }

    /** Returns a block to the cache. */
    public synchronized void free(Block b) {
        Live l = live.remove(b.address());
        if (l == null) throw new IllegalStateException("device block at 0x" + Long.toHexString(b.address()) + " freed twice or never allocated here");
        liveBytes -= l.requested();
        givenBack++;
        if (capturing != null && freedWhileCapturing == null) freedWhileCapturing = human(b.bytes()) + " at 0x" + Long.toHexString(b.address());
        cached.computeIfAbsent(b.bytes(), k -> new ArrayDeque<>()).addLast(b);
        cachedBytes += b.bytes();
    }

    /** Gives every cached (unused) block back to the device, once the work that may still use them is done. */
    public synchronized void emptyCache() {
        if (cached.isEmpty()) return;
        givenBack++;
        raw.synchronize();
        for (ArrayDeque<Block> q : cached.values()) {
            for (Block b : q) {
                raw.free(b);
                reservedBytes -= b.bytes();
            }
        }
        cached.clear();
        cachedBytes = 0;
    }

    private CudaOutOfMemoryException outOfMemory(long bytes, String what) {
        long[] device = raw.deviceMemory();
        return new CudaOutOfMemoryException(String.format(
                "CUDA out of memory: %s needs %s, but the GPU has %s free of %s; this program holds %s (%s in live tensors)."
                        + " Use a smaller --batch-size, or --memory shared (or recompute, the least memory)",
                what, human(bytes), human(device[0]), human(device[1]), human(reservedBytes), human(liveBytes)));
    }

    static String human(long bytes) {
        if (bytes < 1L << 20) return String.format("%.1f KiB", bytes / 1024.0);
        if (bytes < 1L << 30) return String.format("%.1f MiB", bytes / (double) (1L << 20));
        return String.format("%.2f GiB", bytes / (double) (1L << 30));
    }

    public synchronized long liveBytes() {
        return liveBytes;
    }

    public synchronized long peakLiveBytes() {
        return peakLiveBytes;
    }

    public synchronized long reservedBytes() {
        return reservedBytes;
    }

    public synchronized long peakReservedBytes() {
        return peakReservedBytes;
    }

    public synchronized long cachedBytes() {
        return cachedBytes;
    }

    /** How many times the raw allocator was called: flat after the first training step when caching works. */
    public synchronized long rawAllocations() {
        return rawAllocations;
    }

    // ---- stream capture ---------------------------------------------------------------------

    /** From now until {@link #endCapture()} every allocation throws {@link GraphCaptureException}; {@code what} names the capture. */
    synchronized void beginCapture(String what) {
        capturing = what;
        freedWhileCapturing = null;
    }

    /** Ends the capture; the block given back during it (which the captured work may still use on replay), or null. */
    synchronized String endCapture() {
        capturing = null;
        String freed = freedWhileCapturing;
        freedWhileCapturing = null;
        return freed;
    }

    /** How many times blocks were given back so far: while unchanged, every block live at some moment still is. */
    synchronized long givenBack() {
        return givenBack;
    }

    /** The allocations live now, as tokens for {@link #allLive}. */
    synchronized Object[] liveAllocations() {
        return live.values().toArray();
    }

    /**
     * Whether every one of these allocations is still live: not given back, nor given back and
     * handed out again (a cached block is handed out as the same {@link Block}, so the allocation
     * itself is compared).
     */
    synchronized boolean allLive(Object[] allocations) {
        for (Object o : allocations) {
            Live l = (Live) o;
            if (live.get(l.block().address()) != l) return false;
        }
        return true;
    }

    /** Starts new peaks at the current sizes. */
    public synchronized void resetPeaks() {
        peakLiveBytes = liveBytes;
        peakReservedBytes = reservedBytes;
    }

    /** Frees everything, live blocks included (the backend is closing; its tensors are invalid). */
    @Override
    public synchronized void close() {
        emptyCache();
        if (!live.isEmpty()) raw.synchronize();
        // Blocks of storages nobody closed: the primary context outlives this backend, so they must go back too.
        for (Live l : live.values()) {
            raw.free(l.block());
            reservedBytes -= l.block().bytes();
        }
        live.clear();
        liveBytes = 0;
    }

    private record Live(Block block, long requested) {
    }
}
