package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.densenet.engine.DType;
import org.densenet.engine.OpTimer;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bench machinery on the CPU with a tiny DenseNet-BC (depth 10: one bottleneck layer per block,
 * growth 4, 8 initial features, compression 0.5) on 2 images of 8x8: what is checked is the
 * bookkeeping, not the speed.
 */
class BenchMachineryTest {
    private static final DenseNetConfig TINY = DenseNetConfig.cifar(10, 4, true, 0.5, 0.0, 10);

    private static Workload tiny(MemoryMode mode, int repeats) {
        return new Workload("densenet-bc-10-4", TINY, mode, 2, 8, 2, repeats, 2, 11);
    }

    private static RunInfo info(CpuBackend cpu) {
        return RunInfo.collect(cpu);
    }

    private static Peaks smallPeaks(CpuBackend cpu) {
        return Peaks.measure(cpu, new Peaks.Sizes(1 << 18, List.of(new Peaks.Gemm(2, 64, 16, 16, 64)), 1, 3), 5);
    }

    @Test
    void convolutionFlopsOfTheForwardPassMatchAHandCount() {
        // MACs of the forward convolutions, N = 2:
        //   stem 3->8 3x3 at 8x8:            2*8*64*3*9  = 27648
        //   block1 1x1 8->16, 3x3 16->4:     2*16*64*8   = 16384,  2*4*64*16*9 = 73728
        //   transition1 1x1 12->6 at 8x8:    2*6*64*12   =  9216
        //   block2 at 4x4: 6->16, 16->4:     2*16*16*6   =  3072,  2*4*16*16*9 = 18432
        //   transition2 10->5 at 4x4:        2*5*16*10   =  1600
        //   block3 at 2x2: 5->16, 16->4:     2*16*4*5    =   640,  2*4*4*16*9  =  4608
        // sum 155328 MACs = 310656 FLOPs; classifier 9->10: 2*2*9*10 + 20 = 380 FLOPs
        for (MemoryMode mode : MemoryMode.values()) {
            try (CpuBackend cpu = new CpuBackend(2)) {
                OpsBench.Result r = OpsBench.run(cpu, tiny(mode, 2), true, smallPeaks(cpu), info(cpu));
                Table t = r.report().table("ops");
                Map<String, Long> flops = new HashMap<>(), bytes = new HashMap<>();
                Map<String, Integer> calls = new HashMap<>();
                for (int i = 0; i < t.size(); i++) {
                    String scope = (String) t.cell(i, "scope"), op = (String) t.cell(i, "op");
                    double hostMs = (Double) t.cell(i, "host_ms");
                    assertTrue(hostMs >= 0 && hostMs < 10_000, mode + ": host issue time of " + scope + " " + op + ": " + hostMs + " ms");
                    String phase = scope.contains("/") ? scope.substring(0, scope.indexOf('/')) : scope;
                    for (String key : new TreeSet<>(List.of(phase + " " + op, scope + " " + op))) {
                        flops.merge(key, (Long) t.cell(i, "flops"), Long::sum);
                        bytes.merge(key, (Long) t.cell(i, "bytes"), Long::sum);
                        calls.merge(key, 1, Integer::sum);
                    }
                }
                // the model labels its parts, so each block's and transition's convolutions are found under their names
                assertEquals(55_296L, (long) flops.get("fwd/stem conv_fwd"), mode + ": stem");
                assertEquals(2 * (16_384L + 73_728L), (long) flops.get("fwd/features.denseblock1 conv_fwd"), mode + ": block 1");
                assertEquals(2, (int) calls.get("fwd/features.denseblock1 conv_fwd"));
                assertEquals(18_432L, (long) flops.get("fwd/features.transition1 conv_fwd"), mode + ": transition 1");
                assertEquals(2 * (640L + 4_608L), (long) flops.get("bwd/features.denseblock3 conv_bwd_filter"), mode + ": block 3 backward");
                assertEquals(380L, (long) flops.get("fwd/head linear_fwd"), mode + ": classifier in the head");
                // minimum bytes, float32: stem reads x [2,3,8,8] = 384 and w [8,3,3,3] = 216, writes y [2,8,8,8] = 1024;
                // classifier reads x [2,9] = 18, w [10,9] = 90, b [10], writes y [2,10] = 20
                assertEquals(4L * (384 + 216 + 1024), (long) bytes.get("fwd/stem conv_fwd"), mode + ": stem bytes");
                assertEquals(4L * (18 + 90 + 10 + 20), (long) bytes.get("fwd/head linear_fwd"), mode + ": classifier bytes");
                assertEquals(9, (int) calls.get("fwd conv_fwd"), mode + ": 9 convolutions forward");
                assertEquals(310_656L, (long) flops.get("fwd conv_fwd"), mode + ": forward convolution FLOPs");
                assertEquals(380L, (long) flops.get("fwd linear_fwd"), mode + ": classifier FLOPs");
                assertEquals(9, (int) calls.get("bwd conv_bwd_filter"), mode + ": every filter gets its gradient");
                assertEquals(310_656L, (long) flops.get("bwd conv_bwd_filter"), mode + ": filter-gradient FLOPs");
                assertEquals(1, (int) calls.get("loss softmax_xent"));
                assertEquals(1, (int) calls.get("sgd sgd"));
            }
        }
    }

    @Test
    void perOpTimesAddUpToTheStepWithinTheMeasuredOverhead() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            OpsBench.Totals t = OpsBench.run(cpu, tiny(MemoryMode.SHARED, 15), false, smallPeaks(cpu), info(cpu)).totals();
            double ops = t.opSum().median(), profiled = t.profiledStep().median(), unprofiled = t.unprofiledStep().median();
            // in every repeat the ops run inside the profiled step, so the median of their sum cannot exceed the step's
            assertTrue(ops <= profiled, "ops " + ops + " ns within the profiled step " + profiled + " ns");
            // the unprofiled step is the ops plus the host work between them; the profiled step's time outside
            // the ops bounds that host work (it adds the timers' own cost), up to the steps' run-to-run spread
            double outsideOps = profiled - ops;
            double noise = (t.unprofiledStep().max() - t.unprofiledStep().min()) + (t.profiledStep().max() - t.profiledStep().min());
            assertTrue(Math.abs(unprofiled - ops) <= outsideOps + noise, "unprofiled step " + unprofiled + " ns vs ops " + ops
                    + " ns: differ by more than the " + outsideOps + " ns outside the ops (+ spread " + noise + " ns)");
            // and most of the profiled step is in ops: no op goes untimed
            assertTrue(ops >= 0.5 * profiled, "ops cover " + ops / profiled + " of the profiled step");
            // the CPU backend computes while it issues, so issuing an op takes about as long as running it
            double issued = t.issueSum().median();
            assertTrue(issued >= 0.25 * ops && issued <= 4 * profiled, "issue time " + issued + " ns vs ops " + ops + " ns on a synchronous backend");
        }
    }

    @Test
    void stepPeaksLeaveOutTheWarmUpsOneOffAllocations() {
        try (CpuBackend cpu = new CpuBackend(1); OpTimer timer = OpTimer.host(cpu)) {
            int[] calls = {0};
            Runnable step = () -> {
                // the first call borrows 4 MiB and gives it back, as cuDNN's algorithm search does on a GPU
                if (calls[0]++ == 0) cpu.allocate(DType.F32, 1 << 20).close();
                try (Tensor t = cpu.allocate(DType.F32, 1000)) {
                    cpu.fill(t, 1.0);
                }
            };
            long base = cpu.memoryStats().liveBytes();
            Stats.Timed timed = StepBench.timedAfterWarmup(cpu, timer, 1, 3, step);
            assertEquals(4, calls[0]);
            assertEquals(3, timed.device().count());
            assertEquals(4_000L, cpu.memoryStats().peakBytes() - base, "the timed steps' peak, not the warm-up's 4 MiB");
        }
    }

    @Test
    void stepBenchReportsBothModesAndSharedNeedsLessMemory() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            Report r = StepBench.run(cpu, tiny(MemoryMode.SHARED, 3), List.of(MemoryMode.NAIVE, MemoryMode.SHARED), info(cpu));
            Table t = r.table("steps");
            assertEquals(4, t.size());
            assertEquals("naive", t.cell(1, "mode"));
            assertEquals("train step", t.cell(1, "phase"));
            long naive = (Long) t.cell(1, "peak_memory_bytes"), shared = (Long) t.cell(3, "peak_memory_bytes");
            assertTrue(shared < naive, "shared " + shared + " B < naive " + naive + " B");
            double ms = (Double) t.cell(3, "median_ms");
            assertEquals(2 * 1000 / ms, (Double) t.cell(3, "images_per_s"), 1e-9 * 2000 / ms);
            assertTrue((Long) t.cell(0, "peak_memory_bytes") < naive, "inference needs less than training");
        }
    }

    @Test
    void memorySweepGrowsWithDepthAndSharedStaysBelowNaive(@TempDir Path dir) throws Exception {
        int[] depths = {10, 16, 22, 28};
        List<MemorySweep.Point> pts;
        try (CpuBackend cpu = new CpuBackend(2)) {
            MemorySweep.Sweep sweep = MemorySweep.run(cpu, true, 6, depths, 2, 8, 3);
            assertNull(sweep.stopped(), "every depth fits");
            pts = sweep.points();
            Report r = MemorySweep.report(sweep, "densenet-bc", 6, 2, 8, info(cpu));
            assertEquals(depths.length, r.table("memory").size());
        }
        long[] naive = new long[depths.length], shared = new long[depths.length], recompute = new long[depths.length];
        for (MemorySweep.Point p : pts) {
            int i = java.util.Arrays.binarySearch(depths, p.depth());
            switch (p.mode()) {
                case NAIVE -> naive[i] = p.peakBytes();
                case SHARED -> shared[i] = p.peakBytes();
                case RECOMPUTE -> recompute[i] = p.peakBytes();
            }
        }
        for (int i = 0; i < depths.length; i++) {
            assertTrue(shared[i] < naive[i], "depth " + depths[i] + ": shared " + shared[i] + " < naive " + naive[i]);
            assertTrue(recompute[i] > 0 && recompute[i] < shared[i], "depth " + depths[i] + ": recompute " + recompute[i] + " < shared " + shared[i]);
            if (i > 0) {
                assertTrue(naive[i] > naive[i - 1], "naive grows with depth: " + java.util.Arrays.toString(naive));
                assertTrue(shared[i] > shared[i - 1], "shared grows with depth: " + java.util.Arrays.toString(shared));
            }
        }
        // the naive block's extra memory grows faster than linearly: its increments grow
        assertTrue(naive[3] - naive[2] > naive[1] - naive[0], "naive increments grow: " + java.util.Arrays.toString(naive));
        // the measured activations are what the model's planner predicts for them
        for (MemorySweep.Point p : pts) {
            assertEquals(p.predicted().activationBytes(), p.activationBytes(), 0.10 * p.activationBytes(), "planner vs measurement at " + p);
        }
        Path png = dir.resolve("memory.png");
        MemorySweep.plot(png, pts, "densenet-bc", 6, 2, 8);
        assertTrue(Files.size(png) > 1000);
    }
}
