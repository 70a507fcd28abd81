package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.densenet.engine.cuda.CudnnProbe.DataType;
import org.densenet.engine.cuda.CudnnProbe.Layout;
import org.densenet.engine.cuda.CudnnProbe.Result;
import org.densenet.engine.cuda.ffm.Cudnn;
import org.densenet.engine.cuda.ffm.Cudnn.ConvOp;
import org.densenet.engine.cuda.ffm.FakeLibraries;
import org.densenet.engine.cuda.ffm.FakeSlots;
import org.densenet.engine.cuda.ffm.NativeLibrary;
import org.junit.jupiter.api.Test;

/**
 * The cuDNN probe against the stand-in cuDNN, which takes FP16, BF16 and NHWC descriptors but
 * computes only with [K, C, R, S] filters (float32 or 16 bits) and says so per algorithm: the probe
 * records the FP32 and 16-bit NCHW results, the NHWC refusals, the heuristics' list, and puts every
 * variant's tensors where its layout and slice say (the stand-in's search scribbles over exactly
 * the output it is given).
 */
class CudnnProbeFakeTest {
    private static final int S_CREATED = 0, S_DESTROYED = 1;
    private final NativeLibrary lib = FakeLibraries.open("cudnn", "libfake_cudnn.so");
    private final Cudnn cudnn = new Cudnn(lib);
    private final FakeSlots slots = new FakeSlots(lib);

    /** Host memory whose blocks outlive free, so the test can read what the last variant's search wrote. */
    private static final class KeptMemory implements DeviceAllocator.RawMemory {
        final HostDevice host = new HostDevice();
        final List<DeviceAllocator.Block> blocks = new ArrayList<>();

        @Override
        public DeviceAllocator.Block allocate(long bytes) {
            DeviceAllocator.Block b = host.allocate(bytes);
            blocks.add(b);
            return b;
        }

        @Override
        public void free(DeviceAllocator.Block block) {
        }

        @Override
        public long[] deviceMemory() {
            return host.deviceMemory();
        }

        @Override
        public void synchronize() {
        }
    }

    private void script(int[] algo, int[] status, long[] memory) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            int[] math = new int[algo.length];
            java.util.Arrays.fill(math, Cudnn.FMA_MATH);
            lib.function("fake_script_find", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS)).invokeExact(algo.length, a.allocateFrom(ValueLayout.JAVA_INT, algo),
                    a.allocateFrom(ValueLayout.JAVA_INT, status), a.allocateFrom(ValueLayout.JAVA_INT, math),
                    a.allocateFrom(ValueLayout.JAVA_LONG, memory));
        }
    }

    @Test
    void recordsNchwResultsNhwcRefusalsAndPlacesEachVariantsSlice() throws Throwable {
        slots.reset();
        script(new int[] {1, 2}, new int[] {0, 3000}, new long[] {4096, 0});
        // x = S[:, 8:16] of a 24-channel storage, y = T[:, 8:12] of a 16-channel one
        ConvProblem p = new ConvProblem("test conv", 2, 8, 4, 4, 4, 3, 3, 1, 1, 24, 8, 16, 8);
        KeptMemory memory = new KeptMemory();
        CudnnProbe.Outcome outcome;
        try (CudnnProbe probe = new CudnnProbe(cudnn, memory.host, memory, () -> { }, "fake", Map.of())) {
            outcome = probe.run(List.of(p), Long.MAX_VALUE, line -> { });
            assertEquals(CudnnProbe.VARIANTS.size() * 3, outcome.results().size(), "every variant's three passes");
            assertTrue(outcome.notProbed().isEmpty());
            for (Result r : outcome.results()) {
                String what = r.variant().label() + " " + r.op().label;
                assertNull(r.refused(), what + ": descriptors of every type and layout are accepted");
                if (r.variant().layout() == Layout.NCHW) {
                    assertEquals(0.1f, (float) r.bestMs(), what + ": the scripted time of the one algorithm that ran");
                    assertEquals(1, r.fastest().algo());
                    assertEquals(3000, r.found().get(1).status(), "a failed algorithm is kept with its status");
                    assertEquals("CUDNN_STATUS_NOT_SUPPORTED", r.found().get(1).statusText());
                    int expected = r.op() == ConvOp.FORWARD ? 8 : r.op() == ConvOp.BACKWARD_DATA ? 6 : 7;
                    assertEquals(expected, r.heuristic().size(), what + ": the heuristics list every algorithm");
                    assertEquals(expected - 1, r.heuristic().stream().filter(CudnnProbe.Algo::ok).count(), "all but algorithm 5");
                } else {
                    assertTrue(Double.isNaN(r.bestMs()), what + ": the stand-in cannot compute NHWC filters and refuses every algorithm");
                    assertTrue(r.found().stream().noneMatch(CudnnProbe.Algo::ok) && r.heuristic().stream().noneMatch(CudnnProbe.Algo::ok));
                    assertEquals(2, r.found().size());
                }
            }
            // The last variant is BF16 NHWC slice; its forward search scribbled over y's slice, backward data over x's.
            Result last = outcome.results().getLast();
            assertEquals(DataType.BF16, last.variant().type());
            assertEquals(Layout.NHWC, last.variant().layout());
            assertTrue(last.variant().slice());
            checkScribbledNhwcSlice("y", memory.blocks.get(1), 2, 4 * 4, 16, 8, 4);
            checkScribbledNhwcSlice("x", memory.blocks.get(0), 2, 4 * 4, 24, 8, 8);
        } finally {
            memory.host.close();
        }
        assertEquals(slots.get(S_CREATED), slots.get(S_DESTROYED), "every descriptor and the handle destroyed");
    }

    /** 2-byte elements of an NHWC storage [N, HW, C_s]: 0x5A5A in channels off..off+c, the BF16 fill 0.0625 elsewhere. */
    private static void checkScribbledNhwcSlice(String name, DeviceAllocator.Block b, int n, int hw, int storage, int off, int c) {
        MemorySegment s = MemorySegment.ofAddress(b.address()).reinterpret((long) n * hw * storage * 2);
        for (int i = 0; i < n * hw * storage; i++) {
            int ch = i % storage;
            short expected = ch >= off && ch < off + c ? (short) 0x5A5A : (short) 0x3D80;
            assertEquals(expected, s.getAtIndex(ValueLayout.JAVA_SHORT, i), name + " element " + i + " (channel " + ch + ")");
        }
    }

    @Test
    void stopsStartingProblemsWhenTheBudgetIsSpent() throws Throwable {
        script(new int[] {1}, new int[] {0}, new long[] {0});
        ConvProblem a = ConvProblem.packed("a", 1, 8, 4, 4, 8, 1, 1, 1, 0), b = ConvProblem.packed("b", 1, 8, 4, 4, 8, 3, 3, 1, 1);
        try (HostDevice host = new HostDevice(); CudnnProbe probe = new CudnnProbe(cudnn, host, host, () -> { }, "fake", Map.of())) {
            List<String> heard = new ArrayList<>();
            CudnnProbe.Outcome none = probe.run(List.of(a, b), 0, heard::add);
            assertEquals(List.of(a, b), none.notProbed());
            assertTrue(none.results().isEmpty() && heard.isEmpty());
            CudnnProbe.Outcome all = probe.run(List.of(a, b), Long.MAX_VALUE, heard::add);
            // packed problems have no slice form: 5 variants x 3 passes each
            assertEquals(2 * 5 * 3, all.results().size());
            assertEquals(List.of("1/2 a: " + a.shape(), "2/2 b: " + b.shape()), heard);
        }
    }
}
