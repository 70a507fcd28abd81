package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Random;

import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.ffm.Cudnn;
import org.densenet.engine.cuda.ffm.Cudnn.ConvOp;
import org.densenet.engine.cuda.ffm.FakeLibraries;
import org.densenet.engine.cuda.ffm.FakeSlots;
import org.densenet.engine.cuda.ffm.NativeLibrary;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The convolution wrapper against a stand-in cuDNN that computes real cross-correlations over host
 * memory from the descriptors it is given: descriptor dims and strides of channel slices, pointer
 * offsets, the argument order of each pass, alpha/beta, the algorithm choice under the math
 * policy, the workspace, the cache, undoing the search's writes for accumulating calls, and that
 * every descriptor is freed. Results are compared with the CPU backend.
 */
class ConvolutionsFakeTest {
    private static final CpuBackend CPU = new CpuBackend(1);
    private static final int S_CREATED = 0, S_DESTROYED = 1, S_STREAM = 2, S_FIND_CALLS = 3, S_RUN_CALLS = 4, S_LAST_ALGO = 5,
            S_LAST_WS = 6, S_LAST_WS_BYTES = 7, S_LAST_ALPHA_BITS = 8, S_LAST_BETA_BITS = 9, S_LAST_MATH = 10, S_FIND_WS_BYTES = 11,
            S_LAST_OP = 12;

    private final NativeLibrary lib = FakeLibraries.open("cudnn", "libfake_cudnn.so");
    private final Cudnn cudnn = new Cudnn(lib);
    private final FakeSlots slots = new FakeSlots(lib);
    private final MethodHandle script = lib.function("fake_script_find", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private final Random rng = new Random(3);

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

    /** The next searches return these (algo, status, math type, workspace bytes) rows, fastest first. */
    private void script(int[]... rows) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            int n = rows.length;
            int[] algo = new int[n], status = new int[n], math = new int[n];
            long[] mem = new long[n];
            for (int i = 0; i < n; i++) {
                algo[i] = rows[i][0];
                status[i] = rows[i][1];
                math[i] = rows[i][2];
                mem[i] = rows[i][3];
            }
            script.invokeExact(n, a.allocateFrom(ValueLayout.JAVA_INT, algo), a.allocateFrom(ValueLayout.JAVA_INT, status),
                    a.allocateFrom(ValueLayout.JAVA_INT, math), a.allocateFrom(ValueLayout.JAVA_LONG, mem));
        }
    }

    private Tensor random(int... shape) {
        return HostDevice.random(CPU, rng, shape);
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        HostDevice.assertClose(what, expected, actual);
    }

    private static float[] values(Tensor t) {
        float[] v = new float[Math.toIntExact(t.numel())];
        CPU.download(t, v);
        return v;
    }

    @Test
    void threePassesOnChannelSlicesMatchTheCpuAndKeepFloat32Math() throws Throwable {
        // tensor-op results are skipped with TF32 off, failures always; the first usable one wins
        script(new int[] {6, 0, Cudnn.TENSOR_OP_MATH, 512}, new int[] {2, 3000, Cudnn.FMA_MATH, 0},
                new int[] {1, 0, Cudnn.FMA_MATH, 2048}, new int[] {0, 0, Cudnn.DEFAULT_MATH, 0});
        Conv2d conv = new Conv2d(2, 1);
        try (HostDevice device = new HostDevice(); DeviceAllocator alloc = new DeviceAllocator(device);
             Arena arena = Arena.ofConfined();
             Tensor block = random(2, 10, 7, 7); Tensor flat = random(4 * 5 * 3 * 3 + 9); Tensor outs = random(2, 7, 4, 4);
             Tensor grads = random(2, 10, 7, 7); Tensor dflat = random(4 * 5 * 3 * 3 + 9)) {
            Convolutions convs = new Convolutions(cudnn, device, alloc, false);
            Tensor x = block.channels(3, 8), w = flat.view(3, new int[] {4, 5, 3, 3}, Tensor.contiguousStrides(new int[] {4, 5, 3, 3}));
            Tensor y = outs.channels(2, 6), dx = grads.channels(1, 6);
            Tensor dw = dflat.view(3, w.shape(), w.strides());
            MemorySegment mBlock = HostDevice.mirror(arena, CPU, block), mFlat = HostDevice.mirror(arena, CPU, flat);
            MemorySegment mOuts = HostDevice.mirror(arena, CPU, outs), mGrads = HostDevice.mirror(arena, CPU, grads);
            MemorySegment mDflat = HostDevice.mirror(arena, CPU, dflat);
            long xa = HostDevice.address(mBlock, x), wa = HostDevice.address(mFlat, w), ya = HostDevice.address(mOuts, y);
            long dxa = HostDevice.address(mGrads, dx), dwa = HostDevice.address(mDflat, dw);
            assertEquals(HostDevice.STREAM, value(S_STREAM), "the handle is bound to the backend's stream");

            for (boolean accumulate : new boolean[] {false, true}) {
                String at = "accumulate " + accumulate + ": ";
                int[] preserved = {0};
                Convolutions.Preserver none = () -> {
                    preserved[0]++;
                    fail("a non-accumulating call must not save its output");
                    return null;
                };
                // forward: y (a slice of a 7-channel storage) from x (a slice of a 10-channel block)
                CPU.convForward(x, w, y, conv, accumulate);
                convs.run(ConvKey.of(ConvOp.FORWARD, x, w, y, conv, xa, wa, ya), xa, wa, ya, accumulate, accumulate ? saver(mOuts, preserved) : none);
                assertClose(at + "forward, whole output storage", values(outs), HostDevice.values(mOuts));
                assertEquals(Float.floatToRawIntBits(1f), value(S_LAST_ALPHA_BITS));
                assertEquals(Float.floatToRawIntBits(accumulate ? 1f : 0f), value(S_LAST_BETA_BITS), at + "beta");
                assertEquals(1, value(S_LAST_ALGO), at + "the fastest float32 algorithm that ran");
                assertEquals(2048, value(S_LAST_WS_BYTES));
                assertTrue(value(S_LAST_WS) != 0, "a workspace is passed when the algorithm needs one");
                assertEquals(Cudnn.FMA_MATH, value(S_LAST_MATH), "TF32 off: FMA math");
                // backward data into a slice of the block's gradient storage
                CPU.convBackwardData(y, w, dx, conv, accumulate);
                convs.run(ConvKey.of(ConvOp.BACKWARD_DATA, dx, w, y, conv, dxa, wa, ya), dxa, wa, ya, accumulate,
                        accumulate ? saver(mGrads, preserved) : none);
                assertClose(at + "backward data, whole gradient storage", values(grads), HostDevice.values(mGrads));
                assertEquals(1, value(S_LAST_OP));
                // backward filter into a view of the flat gradient buffer
                CPU.convBackwardFilter(x, y, dw, conv, accumulate);
                convs.run(ConvKey.of(ConvOp.BACKWARD_FILTER, x, dw, y, conv, xa, dwa, ya), xa, dwa, ya, accumulate,
                        accumulate ? saver(mDflat, preserved) : none);
                assertClose(at + "backward filter, whole flat buffer", values(dflat), HostDevice.values(mDflat));
                assertEquals(2, value(S_LAST_OP));
                assertEquals(0, preserved[0], "every pass was planned by its first (non-accumulating) call");
            }
            assertEquals(3, value(S_FIND_CALLS), "one search per pass, then the cached plan");
            assertEquals(6, value(S_RUN_CALLS));
            assertEquals(3, convs.plannedShapes());
            convs.close();
            assertEquals(value(S_CREATED), value(S_DESTROYED), "every descriptor and the handle are freed");
            assertEquals(0, alloc.liveBytes(), "the workspace goes back to the allocator");
        }
    }

    /** Saves a mirror's contents and restores them on close, as the backend does with a device copy. */
    private static Convolutions.Preserver saver(MemorySegment storage, int[] count) {
        return () -> {
            count[0]++;
            float[] saved = HostDevice.values(storage);
            return () -> MemorySegment.copy(saved, 0, storage, ValueLayout.JAVA_FLOAT, 0, saved.length);
        };
    }

    @Test
    void anAccumulatingFirstCallUndoesTheSearchsWritesAndSizesTheSearchWorkspace() throws Throwable {
        script(new int[] {3, 0, Cudnn.FMA_MATH, 0});
        Conv2d conv = new Conv2d(1, 1);
        try (HostDevice device = new HostDevice(); DeviceAllocator alloc = new DeviceAllocator(device); Arena arena = Arena.ofConfined();
             Tensor x = random(2, 4, 5, 5); Tensor w = random(3, 4, 3, 3); Tensor y = random(2, 3, 5, 5)) {
            Convolutions convs = new Convolutions(cudnn, device, alloc, false);
            MemorySegment mx = HostDevice.mirror(arena, CPU, x), mw = HostDevice.mirror(arena, CPU, w), my = HostDevice.mirror(arena, CPU, y);
            int[] saved = {0};
            CPU.convForward(x, w, y, conv, true);
            convs.run(ConvKey.of(ConvOp.FORWARD, x, w, y, conv, mx.address(), mw.address(), my.address()), mx.address(), mw.address(),
                    my.address(), true, saver(my, saved));
            assertEquals(1, saved[0]);
            assertClose("forward accumulated onto the output as it was before the search", values(y), HostDevice.values(my));
            assertEquals(7 * 1024, value(S_FIND_WS_BYTES), "the search gets the largest workspace any applicable algorithm wants");
            assertEquals(0, value(S_LAST_WS), "an algorithm without workspace gets a null pointer");
            convs.close();
        }
    }

    @Test
    void aWorkspaceTheGpuCannotHoldFallsBackToTheNextFastestAlgorithmThatFits() throws Throwable {
        // fastest first: algorithm 4 wants 1 MiB, 3 wants 64 KiB, 2 wants 2 KiB, 0 none
        script(new int[] {4, 0, Cudnn.FMA_MATH, 1 << 20}, new int[] {3, 0, Cudnn.FMA_MATH, 64 << 10},
                new int[] {2, 0, Cudnn.FMA_MATH, 2048}, new int[] {0, 0, Cudnn.FMA_MATH, 0});
        try (HostDevice device = new HostDevice(); DeviceAllocator alloc = new DeviceAllocator(device); Arena arena = Arena.ofConfined();
             Tensor x = random(2, 3, 6, 6); Tensor w = random(4, 3, 3, 3); Tensor y = random(2, 4, 6, 6)) {
            device.largestAllocation = 4096;   // the search shrinks to fit; then 1 MiB and 64 KiB are refused
            Convolutions convs = new Convolutions(cudnn, device, alloc, false);
            MemorySegment mx = HostDevice.mirror(arena, CPU, x), mw = HostDevice.mirror(arena, CPU, w), my = HostDevice.mirror(arena, CPU, y);
            Conv2d conv = new Conv2d(1, 1);
            ConvKey key = ConvKey.of(ConvOp.FORWARD, x, w, y, conv, mx.address(), mw.address(), my.address());
            for (int call = 0; call < 2; call++) {
                CPU.convForward(x, w, y, conv, false);
                convs.run(key, mx.address(), mw.address(), my.address(), false, null);
                assertEquals(2, value(S_LAST_ALGO), "call " + call + ": the fastest algorithm whose workspace fits");
                assertEquals(2048, value(S_LAST_WS_BYTES));
                assertTrue(value(S_LAST_WS) != 0);
                assertClose("call " + call, values(y), HostDevice.values(my));
            }
            assertEquals(1, value(S_FIND_CALLS), "the fallback is kept: no second search");
            assertEquals(1, convs.fallbacks());
            convs.close();
            assertEquals(0, alloc.liveBytes());
        }
    }

    @Test
    void whenNoAlgorithmsWorkspaceFitsTheOutOfMemoryErrorSaysWhatWasAsked() throws Throwable {
        script(new int[] {4, 0, Cudnn.FMA_MATH, 1 << 20}, new int[] {3, 0, Cudnn.FMA_MATH, 1 << 20});
        try (HostDevice device = new HostDevice(); DeviceAllocator alloc = new DeviceAllocator(device); Arena arena = Arena.ofConfined();
             Tensor x = random(1, 2, 4, 4); Tensor w = random(2, 2, 3, 3); Tensor y = random(1, 2, 4, 4)) {
            device.largestAllocation = 4096;
            Convolutions convs = new Convolutions(cudnn, device, alloc, false);
            MemorySegment mx = HostDevice.mirror(arena, CPU, x), mw = HostDevice.mirror(arena, CPU, w), my = HostDevice.mirror(arena, CPU, y);
            Conv2d conv = new Conv2d(1, 1);
            CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> convs.run(
                    ConvKey.of(ConvOp.FORWARD, x, w, y, conv, mx.address(), mw.address(), my.address()), mx.address(), mw.address(),
                    my.address(), false, null));
            assertTrue(e.getMessage().contains("the cuDNN workspace of") && e.getMessage().contains("1.0 MiB"), e.getMessage());
            assertEquals(0, value(S_RUN_CALLS), "nothing ran");
            assertEquals(0, convs.fallbacks());
            convs.close();
        }
    }

    @Test
    void aSearchWorkspaceTheGpuCannotHoldShrinksInsteadOfFailing() throws Throwable {
        script(new int[] {0, 0, Cudnn.FMA_MATH, 0});
        try (HostDevice device = new HostDevice(); DeviceAllocator alloc = new DeviceAllocator(device); Arena arena = Arena.ofConfined();
             Tensor x = random(1, 2, 4, 4); Tensor w = random(2, 2, 3, 3); Tensor y = random(1, 2, 4, 4)) {
            device.largestAllocation = 4096; // less than the 7 KiB the search would like
            Convolutions convs = new Convolutions(cudnn, device, alloc, false);
            MemorySegment mx = HostDevice.mirror(arena, CPU, x), mw = HostDevice.mirror(arena, CPU, w), my = HostDevice.mirror(arena, CPU, y);
            Conv2d conv = new Conv2d(1, 1);
            CPU.convForward(x, w, y, conv, false);
            convs.run(ConvKey.of(ConvOp.FORWARD, x, w, y, conv, mx.address(), mw.address(), my.address()), mx.address(), mw.address(),
                    my.address(), false, null);
            assertEquals(0, value(S_FIND_WS_BYTES), "searched without workspace");
            assertClose("and still computed", values(y), HostDevice.values(my));
            convs.close();
        }
    }

    @Test
    void withTf32AllowedTheFastestResultWinsWithItsMathType() throws Throwable {
        script(new int[] {6, 0, Cudnn.TENSOR_OP_MATH, 512}, new int[] {1, 0, Cudnn.FMA_MATH, 0});
        try (HostDevice device = new HostDevice(); DeviceAllocator alloc = new DeviceAllocator(device); Arena arena = Arena.ofConfined();
             Tensor x = random(1, 2, 4, 4); Tensor w = random(2, 2, 1, 1); Tensor y = random(1, 2, 4, 4)) {
            Convolutions convs = new Convolutions(cudnn, device, alloc, true);
            MemorySegment mx = HostDevice.mirror(arena, CPU, x), mw = HostDevice.mirror(arena, CPU, w), my = HostDevice.mirror(arena, CPU, y);
            Conv2d conv = new Conv2d(1, 0);
            convs.run(ConvKey.of(ConvOp.FORWARD, x, w, y, conv, mx.address(), mw.address(), my.address()), mx.address(), mw.address(),
                    my.address(), false, null);
            assertEquals(6, value(S_LAST_ALGO));
            assertEquals(Cudnn.TENSOR_OP_MATH, value(S_LAST_MATH));
            convs.close();
        }
    }

    @Test
    void noUsableAlgorithmIsReportedWithEveryResult() throws Throwable {
        script(new int[] {0, 3000, Cudnn.FMA_MATH, 0}, new int[] {6, 0, Cudnn.TENSOR_OP_MATH, 0});
        try (HostDevice device = new HostDevice(); DeviceAllocator alloc = new DeviceAllocator(device); Arena arena = Arena.ofConfined();
             Tensor x = random(1, 2, 4, 4); Tensor w = random(2, 2, 1, 1); Tensor y = random(1, 2, 4, 4)) {
            Convolutions convs = new Convolutions(cudnn, device, alloc, false);
            MemorySegment mx = HostDevice.mirror(arena, CPU, x), mw = HostDevice.mirror(arena, CPU, w), my = HostDevice.mirror(arena, CPU, y);
            ConvKey key = ConvKey.of(ConvOp.FORWARD, x, w, y, new Conv2d(1, 0), mx.address(), mw.address(), my.address());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> convs.run(key, mx.address(), mw.address(), my.address(), false, null));
            assertEquals(key + ": cuDNN found no usable algorithm (algo 0: CUDNN_STATUS_NOT_SUPPORTED (3000): fake: the last call was"
                    + " refused, algo 6: tensor-op math, which TF32-off excludes)", e.getMessage());
            convs.close();
            assertEquals(value(S_CREATED), value(S_DESTROYED), "a failed plan frees its descriptors");
        }
    }
}
