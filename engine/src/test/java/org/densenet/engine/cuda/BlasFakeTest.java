package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.ffm.Cublas;
import org.densenet.engine.cuda.ffm.FakeLibraries;
import org.densenet.engine.cuda.ffm.FakeSlots;
import org.densenet.engine.cuda.ffm.NativeLibrary;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The linear layer's cuBLAS calls against a stand-in SGEMM that computes over host memory with
 * cuBLAS's column-major semantics: forward and backward, weights and bias as views into one flat
 * parameter buffer, compared with the CPU backend; and the math mode and stream it sets.
 */
class BlasFakeTest {
    private static final CpuBackend CPU = new CpuBackend(1);
    private static final int S_CREATED = 0, S_DESTROYED = 1, S_STREAM = 2, S_MATH = 3, S_GEMMS = 4, S_WORKSPACE = 5, S_WORKSPACE_BYTES = 6;

    private final NativeLibrary lib = FakeLibraries.open("cublas", "libfake_cublas.so");
    private final FakeSlots slots = new FakeSlots(lib);
    private final Random rng = new Random(5);

    @AfterAll
    static void closeCpu() {
        CPU.close();
    }

    @BeforeEach
    void reset() {
        slots.reset();
    }

    private long value(int slot) {
        return slots.get(slot);
    }

    private Tensor random(int... shape) {
        return HostDevice.random(CPU, rng, shape);
    }

    private static void assertClose(String what, Tensor expected, MemorySegment actual) {
        float[] e = new float[Math.toIntExact(expected.numel())];
        CPU.download(expected, e);
        HostDevice.assertClose(what, e, HostDevice.values(actual));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void linearForwardAndBackwardMatchTheCpu(boolean withDx) throws Throwable {
        int n = 6, f = 11, o = 4;
        long wOff = 3, bOff = wOff + (long) o * f + 2;
        int flatSize = (int) bOff + o + 5;
        try (HostDevice device = new HostDevice(); DeviceAllocator alloc = new DeviceAllocator(device); Arena arena = Arena.ofConfined();
             Tensor x = random(n, f); Tensor flat = random(flatSize); Tensor y = random(n, o); Tensor dy = random(n, o);
             Tensor dx = random(n, f); Tensor dflat = random(flatSize)) {
            Blas blas = new Blas(new Cublas(lib), device, alloc, false);
            Tensor w = flat.view(wOff, new int[] {o, f}, new long[] {f, 1}), b = flat.view(bOff, new int[] {o}, new long[] {1});
            Tensor dw = dflat.view(wOff, new int[] {o, f}, new long[] {f, 1}), db = dflat.view(bOff, new int[] {o}, new long[] {1});
            MemorySegment mx = HostDevice.mirror(arena, CPU, x), mflat = HostDevice.mirror(arena, CPU, flat);
            MemorySegment my = HostDevice.mirror(arena, CPU, y), mdy = HostDevice.mirror(arena, CPU, dy);
            MemorySegment mdx = HostDevice.mirror(arena, CPU, dx), mdflat = HostDevice.mirror(arena, CPU, dflat);

            CPU.linearForward(x, w, b, y);
            blas.linearForward(mx.address(), HostDevice.address(mflat, w), HostDevice.address(mflat, b), my.address(), n, f, o);
            assertClose("y = x w^T + b", y, my);

            CPU.linearBackward(x, w, dy, withDx ? dx : null, dw, db);
            blas.linearBackward(mx.address(), HostDevice.address(mflat, w), mdy.address(), withDx ? mdx.address() : 0,
                    HostDevice.address(mdflat, dw), HostDevice.address(mdflat, db), n, f, o);
            assertClose("dw and db, and the rest of the flat gradient buffer untouched", dflat, mdflat);
            assertClose("dx" + (withDx ? "" : " (not asked for: untouched)"), dx, mdx);
            assertEquals(withDx ? 5 : 4, value(S_GEMMS));
            assertEquals(Cublas.DEFAULT_MATH, value(S_MATH), "TF32 off: cuBLAS's default math keeps SGEMM in float32");
            assertEquals(HostDevice.STREAM, value(S_STREAM));
            // the stand-in, as cuBLAS, drops a workspace set before the stream: this one came after
            assertEquals(Blas.WORKSPACE_BYTES, value(S_WORKSPACE_BYTES), "cuBLAS has a workspace of its own, set after its stream");
            assertTrue(value(S_WORKSPACE) != 0);
            blas.close();
            assertEquals(0, alloc.liveBytes(), "the vector of ones and the workspace go back to the allocator");
            assertEquals(value(S_CREATED), value(S_DESTROYED));
        }
    }

    @Test
    void tf32IsTheMathModeWhenAllowed() throws Throwable {
        try (HostDevice device = new HostDevice(); DeviceAllocator alloc = new DeviceAllocator(device)) {
            Blas blas = new Blas(new Cublas(lib), device, alloc, true);
            assertEquals(Cublas.TF32_TENSOR_OP_MATH, value(S_MATH));
            blas.close();
        }
    }
}
