package org.densenet.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;

/**
 * Host memory standing in for the GPU under the stand-in cuDNN and cuBLAS: "device" blocks are
 * 256-aligned native segments, the stream is a made-up handle the stand-ins record.
 */
final class HostDevice implements DeviceQueue, DeviceAllocator.RawMemory, AutoCloseable {
    static final long STREAM = 0x5EED;
    private final Map<Long, Arena> arenas = new HashMap<>();
    long free = 1L << 30;
    /** Larger requests fail as out of memory. */
    long largestAllocation = Long.MAX_VALUE;

    @Override
    public long streamAddress() {
        return STREAM;
    }

    @Override
    public long freeBytes() {
        return free;
    }

    @Override
    public void fill32(DeviceAllocator.Block block, long count, int bits, String op) {
        MemorySegment s = MemorySegment.ofAddress(block.address()).reinterpret(count * 4);
        for (long i = 0; i < count; i++) s.setAtIndex(ValueLayout.JAVA_INT, i, bits);
    }

    @Override
    public DeviceAllocator.Block allocate(long bytes) {
        if (bytes > largestAllocation) return null;
        Arena a = Arena.ofShared();
        MemorySegment s = a.allocate(bytes, 256);
        arenas.put(s.address(), a);
        return new DeviceAllocator.Block(s.address(), bytes, null);
    }

    @Override
    public void free(DeviceAllocator.Block block) {
        arenas.remove(block.address()).close();
    }

    @Override
    public long[] deviceMemory() {
        return new long[] {free, 1L << 34};
    }

    @Override
    public void synchronize() {
    }

    /** A host copy of a CPU tensor's whole storage, standing in for its device twin. */
    static MemorySegment mirror(Arena arena, CpuBackend cpu, Tensor owner) {
        float[] v = new float[Math.toIntExact(owner.numel())];
        cpu.download(owner, v);
        MemorySegment s = arena.allocate(4L * v.length, 256);
        MemorySegment.copy(v, 0, s, ValueLayout.JAVA_FLOAT, 0, v.length);
        return s;
    }

    /** Address of a view's first element inside the mirror of its storage. */
    static long address(MemorySegment mirror, Tensor view) {
        return TensorLayout.address(mirror.address(), view);
    }

    static float[] values(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_FLOAT);
    }

    /** A CPU tensor of fresh uniform values in [-1, 1). */
    static Tensor random(CpuBackend cpu, java.util.Random rng, int... shape) {
        Tensor t = cpu.allocate(org.densenet.engine.DType.F32, shape);
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) v[i] = rng.nextFloat() * 2 - 1;
        cpu.upload(v, t);
        return t;
    }

    /**
     * The CPU sums in float32, the stand-ins in float64: equal to 1e-5 of the element, or of a tenth of
     * the tensor's scale where terms cancel; NaN exactly where the expected value is NaN.
     */
    static void assertClose(String what, float[] expected, float[] actual) {
        if (expected.length != actual.length) throw new AssertionError(what + ": " + expected.length + " vs " + actual.length + " elements");
        double scale = 0;
        for (float e : expected) if (Float.isFinite(e)) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            boolean ok = Float.isNaN(expected[i]) ? Float.isNaN(actual[i])
                    : Math.abs((double) actual[i] - expected[i]) <= 1e-5 * (Math.abs(expected[i]) + 0.1 * scale);
            if (!ok) throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
        }
    }

    @Override
    public void close() {
        for (Arena a : arenas.values()) a.close();
        arenas.clear();
    }
}
