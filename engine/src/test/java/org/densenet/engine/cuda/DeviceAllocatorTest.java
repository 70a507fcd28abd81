package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.densenet.engine.cuda.DeviceAllocator.Block;
import org.junit.jupiter.api.Test;

class DeviceAllocatorTest {

    /** A device of fixed capacity that hands out increasing addresses and remembers what is outstanding. */
    static final class FakeDevice implements DeviceAllocator.RawMemory {
        final long capacity;
        long used;
        long next = 0x7f0000000000L;
        int allocations;
        final Set<Long> outstanding = new HashSet<>();

        FakeDevice(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public Block allocate(long bytes) {
            if (used + bytes > capacity) return null;
            used += bytes;
            allocations++;
            Block b = new Block(next, bytes, null);
            outstanding.add(next);
            next += bytes;
            return b;
        }

        @Override
        public void free(Block block) {
            if (!outstanding.remove(block.address())) throw new AssertionError("double free of " + block);
            used -= block.bytes();
        }

        @Override
        public long[] deviceMemory() {
            return new long[] {capacity - used, capacity};
        }

        int synchronizations;

        @Override
        public void synchronize() {
            synchronizations++;
        }
    }

    @Test
    void sizeClassesAreAlignedAndAtMostAQuarterLarger() {
        assertEquals(256, DeviceAllocator.sizeClass(1));
        assertEquals(256, DeviceAllocator.sizeClass(256));
        assertEquals(512, DeviceAllocator.sizeClass(257));
        assertEquals(1 << 20, DeviceAllocator.sizeClass(1 << 20));
        assertEquals(1_310_720, DeviceAllocator.sizeClass((1 << 20) + 1)); // 1.25 MiB
        assertEquals(3L << 20, DeviceAllocator.sizeClass((3L << 20) - 5));
        assertEquals(5L << 29, DeviceAllocator.sizeClass((1L << 31) + 1)); // 2.5 GiB
        for (long b = 1; b < 1L << 34; b = b * 3 + 7) {
            long c = DeviceAllocator.sizeClass(b);
            assertTrue(c >= b && c % DeviceAllocator.ALIGNMENT == 0, b + " -> " + c);
            assertTrue(b < 1 << 20 || c < b * 1.25 + 1, b + " -> " + c);
        }
        assertThrows(IllegalArgumentException.class, () -> DeviceAllocator.sizeClass(0));
    }

    @Test
    void aCaptureRefusesAllocationsEvenFromTheCacheAndReportsABlockFreedDuringIt() {
        DeviceAllocator a = new DeviceAllocator(new FakeDevice(1L << 30));
        Block cached = a.allocate(1000, "warm-up");
        a.free(cached);
        Block kept = a.allocate(5000, "kept");
        a.beginCapture("graph");
        var e = assertThrows(org.densenet.engine.GraphCaptureException.class, () -> a.allocate(1000, "a temporary"));
        assertTrue(e.getMessage().startsWith("allocating 1.0 KiB for a temporary cannot be part of a captured graph"), e.getMessage());
        a.free(kept);
        String freed = a.endCapture();
        assertTrue(freed != null && freed.startsWith("5.0 KiB at 0x"), freed);
        assertEquals(null, a.endCapture(), "a new capture starts clean");
        assertEquals(cached, a.allocate(1000, "after the capture"), "the cache serves again once the capture is over");
    }

    @Test
    void anAllocationHandedOutAgainIsNotTheOneThatWasLiveBefore() {
        DeviceAllocator a = new DeviceAllocator(new FakeDevice(1L << 30));
        Block b = a.allocate(4096, "t");
        Object[] live = a.liveAllocations();
        long before = a.givenBack();
        assertTrue(a.allLive(live));
        a.free(b);
        assertTrue(a.givenBack() > before);
        Block again = a.allocate(4096, "u");
        assertEquals(b, again, "the cache hands out the same block");
        assertFalse(a.allLive(live), "but not the same allocation: a graph captured on t must not replay into u");
    }

    @Test
    void freedBlocksAreReusedBySizeClassWithoutNewRawAllocations() {
        FakeDevice dev = new FakeDevice(1L << 30);
        DeviceAllocator a = new DeviceAllocator(dev);
        // one "training step": the same requests in the same order, freed at its end
        long[] sizes = {4000, 1 << 22, 100, 3_000_000, 4000};
        for (int step = 0; step < 3; step++) {
            List<Block> held = new ArrayList<>();
            for (long s : sizes) held.add(a.allocate(s, "test"));
            for (Block b : held) a.free(b);
        }
        assertEquals(sizes.length, dev.allocations, "only the first step calls the raw allocator");
        assertEquals(sizes.length, a.rawAllocations());
        assertEquals(0, a.liveBytes());
        long requested = 0, reserved = 0;
        for (long s : sizes) {
            requested += s;
            reserved += DeviceAllocator.sizeClass(s);
        }
        assertEquals(requested, a.peakLiveBytes(), "peak counts requested bytes");
        assertEquals(reserved, a.reservedBytes());
        assertEquals(reserved, a.cachedBytes());
    }

    @Test
    void liveAndPeakFollowRequestsAndResetStartsAtTheCurrentSize() {
        DeviceAllocator a = new DeviceAllocator(new FakeDevice(1L << 30));
        Block x = a.allocate(1000, "x");
        Block y = a.allocate(3000, "y");
        assertEquals(4000, a.liveBytes());
        a.free(y);
        assertEquals(1000, a.liveBytes());
        assertEquals(4000, a.peakLiveBytes());
        a.resetPeaks();
        assertEquals(1000, a.peakLiveBytes());
        Block z = a.allocate(200, "z");
        assertNotEquals(x.address(), z.address());
        assertEquals(1200, a.peakLiveBytes());
        assertThrows(IllegalStateException.class, () -> a.free(y), "double free is caught");
    }

    @Test
    void outOfMemoryEmptiesTheCacheAndRetriesBeforeFailing() {
        FakeDevice dev = new FakeDevice(10L << 20);
        DeviceAllocator a = new DeviceAllocator(dev);
        Block big = a.allocate(6L << 20, "first");
        a.free(big); // cached: 6 MiB still held from the device
        assertEquals(0, dev.synchronizations);
        Block other = a.allocate(7L << 20, "second"); // only fits once the cached block is given back
        assertEquals(1, dev.synchronizations, "queued work may still read a cached block: wait before freeing");
        assertEquals(7L << 20, a.reservedBytes());
        assertEquals(0, a.cachedBytes());
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> a.allocate(5L << 20, "conv output [64, 128, 32, 32]"));
        String m = e.getMessage();
        assertTrue(m.startsWith("CUDA out of memory: conv output [64, 128, 32, 32] needs 5.0 MiB, but the GPU has 3.0 MiB free of 10.0 MiB"), m);
        assertTrue(m.contains("--batch-size") && m.contains("--memory shared") && m.contains("recompute"), m);
        a.free(other);
    }

    @Test
    void closeGivesEverythingBack() {
        FakeDevice dev = new FakeDevice(1L << 30);
        DeviceAllocator a = new DeviceAllocator(dev);
        a.allocate(1 << 20, "leaked");
        a.free(a.allocate(5000, "cached"));
        a.close();
        assertEquals(0, dev.used);
        assertTrue(dev.outstanding.isEmpty());
        assertEquals(0, a.reservedBytes());
    }
}
