package org.densenet.engine.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.densenet.engine.DType;
import org.densenet.engine.Pool2d;
import org.densenet.engine.LossScaling;
import org.densenet.engine.SgdParams;
import org.densenet.kernels.Fatbin;
import org.densenet.kernels.KernelImage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every launcher passes exactly the parameters its kernel declares (count and C types, read from
 * the PTX in the committed fatbin), and every kernel of the image has a launcher. A mismatch here
 * would otherwise show up only on a GPU, as garbage or a crash.
 */
class LauncherSignatureTest {
    private static final long A = 0x7f00_0000_0000L;   // a 256-byte aligned fake device address
    private static Map<String, List<String>> ptxParams;

    @BeforeAll
    static void readPtxSignatures() {
        byte[] image = KernelImage.fatbin();
        Fatbin.Entry ptx = Fatbin.parse(image).entries().stream().filter(e -> e.kind() == Fatbin.Kind.PTX).findFirst().orElseThrow();
        String text = new String(image, ptx.dataOffset(), ptx.dataSize(), StandardCharsets.US_ASCII);
        ptxParams = new HashMap<>();
        Matcher entry = Pattern.compile("\\.visible \\.entry (\\w+)\\(([^)]*)\\)").matcher(text);
        while (entry.find()) {
            List<String> types = new ArrayList<>();
            for (String item : entry.group(2).split(",")) types.add(ptxType(item.trim().split("\\s+")));
            ptxParams.put(entry.group(1), types);
        }
        assertEquals(new TreeSet<>(KernelImage.manifest().kernels()), new TreeSet<>(ptxParams.keySet()), "PTX entries vs manifest");
    }

    /**
     * ".param .u64 .ptr .align 1 name" -> "u64.ptr" (sm_120 PTX marks C pointers), ".param .u32 name" -> "u32",
     * ".param .align 4 .b8 name[32]" -> "align 4 .b8[32]".
     */
    static String ptxType(String[] tokens) {
        assertEquals(".param", tokens[0]);
        if (tokens[1].equals(".align")) {
            String last = tokens[tokens.length - 1];
            return "align " + tokens[2] + " " + tokens[3] + last.substring(last.indexOf('['));
        }
        boolean pointer = false;
        for (String t : tokens) pointer |= t.equals(".ptr");
        return tokens[1].substring(1) + (pointer ? ".ptr" : "");
    }

    /** What an all-reduce of {@link Replicas} was asked. */
    @FunctionalInterface
    interface Reduced {
        void allReduce(long address, long doubles, boolean average);
    }

    /** Replica {@code rank} of {@code replicas}, handing each all-reduce to {@code seen}: nothing runs on a recording module. */
    record Replicas(int rank, int replicas, Reduced seen) implements ReplicaSums {
        @Override
        public void allReduce(long address, long doubles, boolean average, String what) {
            seen.allReduce(address, doubles, average);
        }
    }

    static final ReplicaSums TWO_REPLICAS = new Replicas(1, 2, (address, doubles, average) -> { });

    static DeviceSlice slice(long base, int n, int c, int h, int w, long ns) {
        return new DeviceSlice(base, n, c, h, w, ns);
    }

    /** Calls every launcher once (SGD twice: float4 and scalar, the second loss-scaled) on a recording module. */
    static RecordingModule launchEverything() {
        RecordingModule m = new RecordingModule();
        DeviceSlice x = slice(A, 4, 12, 8, 8, 40 * 64), y = slice(A + (1 << 20), 4, 12, 8, 8, 12 * 64);
        DeviceSlice z = slice(A + (2 << 20), 4, 12, 8, 8, 12 * 64);
        var ew = new ElementwiseKernels(m);
        ew.fill(y, 1.5f);
        ew.copy(x, y, true);
        ew.relu(x, y);
        ew.reluBackward(x, y, z, false);
        ew.dropoutForward(x, y, z, 0.2, 42);
        ew.dropoutForwardSeeded(x, y, z, 0.2, A + 16384);
        ew.dropoutBackward(x, y, z, true);
        new BnStatsKernels(m).statistics(x, A, A + 64);
        new BnStatsKernels(m).updateRunning(12, A, A + 64, 256, 0.1, A + 128, A + 192);
        var bn = new BnReluKernels(m);
        bn.apply(x, A, A + 64, A + 128, A + 192, 1e-5, true, y);
        bn.applyTraining(x, A, A + 64, false, A + 128, A + 192, 1e-5, true, y, 0.1, A + 256, A + 320);
        bn.applyTraining(x, A, A + 64, true, A + 128, A + 192, 1e-5, true, y, 0.1, A + 256, A + 320);
        bn.backward(x, y, A, A + 64, A + 128, A + 192, 1e-5, true, z, true, A + 256, A + 320);
        new BnStatsKernels(m).replicaStatistics(x, A, A + 64, TWO_REPLICAS);
        bn.applyTraining(x, A, A + 64, true, A + 128, A + 192, 1e-5, true, y, 0.1, A + 256, A + 320, TWO_REPLICAS);
        bn.backward(x, y, A, A + 64, A + 128, A + 192, 1e-5, true, z, true, A + 256, A + 320, TWO_REPLICAS);
        var pool = new PoolKernels(m);
        DeviceSlice small = slice(A + (3 << 20), 4, 12, 4, 4, 12 * 16);
        pool.avgForward(x, small, new Pool2d(2, 2, 0));
        pool.avgBackward(small, x, new Pool2d(2, 2, 0), false);
        pool.maxForward(x, small, new Pool2d(3, 2, 1));
        pool.maxBackward(x, small, y, new Pool2d(3, 2, 1), true);
        pool.globalAvgForward(x, A);
        pool.globalAvgBackward(A, x, false);
        new LossKernels(m).softmaxCrossEntropy(A, A + 4096, 0, 64, 10, A + 8192);
        var sgd = new SgdKernels(m);
        sgd.step(A, A + 4096, A + 8192, 1001, new SgdParams(0.1, 0.9, 1e-4, true), A + 12288);
        sgd.step(A + 4, A + 4096, A + 8192, 1001, new SgdParams(0.1, 0.9, 1e-4, true), A + 12288, A + 12544);
        var scaling = new LossScaleKernels(m);
        scaling.scale(A, 640, A + 12544);
        scaling.checkAndUpdate(A, 1001, A + 12544, LossScaling.DEFAULT);
        new AugmentKernels(m).cropFlipNormalize(A + 1, true, 8, 3, 32, 32,
                new Augmentation(4, true, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.25f, 0.25f, 0.25f}), 7, 100, A);
        for (DType t : new DType[] {DType.BF16, DType.F16}) launchSixteenBit(m, t);
        return m;
    }

    /** Every launcher over activations once more with 16-bit slices of {@code t}, and the conversions both ways. */
    private static void launchSixteenBit(RecordingModule m, DType t) {
        DeviceSlice x = slice(A, 4, 12, 8, 8, 40 * 64).as(t, A), y = slice(A + (1 << 20), 4, 12, 8, 8, 12 * 64).as(t, A + (1 << 20));
        DeviceSlice z = slice(A + (2 << 20), 4, 12, 8, 8, 12 * 64).as(t, A + (2 << 20));
        DeviceSlice mask = slice(A + (4 << 20), 4, 12, 8, 8, 12 * 64);
        var ew = new ElementwiseKernels(m);
        ew.fill(y, 1.5f);
        ew.copy(x, y, true);
        ew.copy(mask, y, false);
        ew.copy(y, mask, true);
        ew.relu(x, y);
        ew.reluBackward(x, y, z, false);
        ew.dropoutForward(x, y, mask, 0.2, 42);
        ew.dropoutForwardSeeded(x, y, mask, 0.2, A + 16384);
        ew.dropoutBackward(x, mask, z, true);
        new BnStatsKernels(m).statistics(x, A, A + 64);
        new BnStatsKernels(m).replicaStatistics(x, A, A + 64, TWO_REPLICAS);
        var bn = new BnReluKernels(m);
        bn.apply(x, A, A + 64, A + 128, A + 192, 1e-5, true, y);
        bn.applyTraining(x, A, A + 64, true, A + 128, A + 192, 1e-5, true, y, 0.1, A + 256, A + 320);
        bn.backward(x, y, A, A + 64, A + 128, A + 192, 1e-5, true, z, true, A + 256, A + 320);
        var pool = new PoolKernels(m);
        DeviceSlice small = slice(A + (3 << 20), 4, 12, 4, 4, 12 * 16).as(t, A + (3 << 20));
        pool.avgForward(x, small, new Pool2d(2, 2, 0));
        pool.avgBackward(small, x, new Pool2d(2, 2, 0), false);
        pool.maxForward(x, small, new Pool2d(3, 2, 1));
        pool.maxBackward(x, small, y, new Pool2d(3, 2, 1), true);
        pool.globalAvgForward(x, A);
        pool.globalAvgBackward(A, x, false);
        var sgd = new SgdKernels(m);
        sgd.step(A, A + 4096, A + 8192, 1001, new SgdParams(0.1, 0.9, 1e-4, true), A + 12288, 0, A + 16384, t);
        sgd.step(A + 4, A + 4096, A + 8192, 1001, new SgdParams(0.1, 0.9, 1e-4, true), A + 12288, A + 12544, A + 16386, t);
        new AugmentKernels(m).cropFlipNormalize(A + 1, true, 8, 3, 32, 32,
                new Augmentation(4, true, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.25f, 0.25f, 0.25f}), 7, 100, A, t);
    }

    @Test
    void everyLaunchMatchesItsKernelsPtxSignature() {
        for (RecordingModule.Launch l : launchEverything().launches) {
            List<String> declared = ptxParams.get(l.kernel());
            assertNotNull(declared, l.kernel() + " is not in the fatbin");
            List<String> passed = l.args().types().stream().map(t -> t.ptx).toList();
            assertEquals(declared, passed, "parameters of " + l.kernel());
        }
    }

    @Test
    void everyKernelOfTheImageHasALauncher() {
        TreeSet<String> launched = new TreeSet<>();
        for (RecordingModule.Launch l : launchEverything().launches) launched.add(l.kernel());
        assertEquals(new TreeSet<>(KernelImage.manifest().kernels()), launched);
    }

    @Test
    void slicesPassTheirOwnStridesAndTheSampleLength() {
        RecordingModule m = new RecordingModule();
        DeviceSlice src = slice(A, 2, 3, 5, 7, 1000), dst = slice(A + 8192, 2, 3, 5, 7, 105);
        new ElementwiseKernels(m).copy(src, dst, true);
        KernelArgs a = m.last().args();
        assertEquals(List.of(A, 1000L, A + 8192, 105L, 2, 105L, 1), List.of(a.value(0), a.value(1), a.value(2), a.value(3), a.value(4), a.value(5), a.value(6)));
        assertEquals(new LaunchGeometry(1, 1, 1, 128, 2, 1, 0), m.last().geometry());
    }

    @Test
    void batchNormKernelsShareTheirScratchInStreamOrder() {
        RecordingModule m = new RecordingModule();
        DeviceSlice x = slice(A, 64, 40, 32, 32, 100 * 1024), dy = slice(A + (64 << 20), 64, 40, 32, 32, 40 * 1024);
        new BnStatsKernels(m).statistics(x, A, A + 256);
        // partial sums: 40 channels x 16 chunks x two doubles
        assertEquals(List.of(40L * 16 * 16), m.scratchRequests);
        assertEquals(new LaunchGeometry(16, 40, 1, 256, 1, 1, 0), m.launches.get(0).geometry());
        KernelArgs partial = m.launches.get(0).args();
        assertEquals(List.of(4, 16, RecordingModule.SCRATCH), List.of(partial.value(5), partial.value(6), partial.value(7)));
        assertEquals(RecordingModule.SCRATCH, m.launches.get(1).args().value(0), "the finish reads the partial sums");

        new BnReluKernels(m).backward(x, dy, A, A + 256, A + 512, A + 768, 1e-5, true, dy, true, A + 1024, A + 1280);
        // the partial sums only: dx finishes them per row
        assertEquals(10240L, m.scratchRequests.get(1));
        assertEquals(List.of(BnReluKernels.BACKWARD_REDUCE, BnReluKernels.BACKWARD_DX),
                m.launches.subList(2, 4).stream().map(RecordingModule.Launch::kernel).toList());
        assertEquals(RecordingModule.SCRATCH, m.launches.get(2).args().value(15), "reduce writes the partial sums");
        KernelArgs dx = m.launches.get(3).args();
        assertEquals(List.of(16, RecordingModule.SCRATCH), List.of(dx.value(9), dx.value(10)), "dx reads all 16 chunks' sums");
        assertEquals(List.of(A + 1024, A + 1280), List.of(dx.value(18), dx.value(19)), "and writes dgamma, dbeta");
        assertEquals(new LaunchGeometry(4, 64 * 40, 1, 256, 1, 1, 0), m.launches.get(3).geometry());
    }

    @Test
    void batchNormOpsLaunchTwoKernelsAtMost() {
        DeviceSlice x = slice(A, 64, 40, 32, 32, 100 * 1024), y = slice(A + (64 << 20), 64, 40, 32, 32, 40 * 1024);
        assertEquals(List.of(BnStatsKernels.STATS_PARTIAL, BnStatsKernels.STATS_FINALIZE), kernels(m -> new BnStatsKernels(m).statistics(x, A, A + 256)));
        assertEquals(List.of(BnReluKernels.APPLY), kernels(m -> new BnReluKernels(m).apply(x, A, A + 256, A + 512, A + 768, 1e-5, true, y)));
        assertEquals(List.of(BnReluKernels.APPLY), kernels(m -> new BnReluKernels(m).applyTraining(x, A, A + 256, false, A + 512, A + 768, 1e-5,
                true, y, 0.1, A + 1024, A + 1280)), "the running statistics move in the apply kernel");
        assertEquals(List.of(BnStatsKernels.STATS_PARTIAL, BnReluKernels.APPLY), kernels(m -> new BnReluKernels(m).applyTraining(x, A, A + 256,
                true, A + 512, A + 768, 1e-5, true, y, 0.1, A + 1024, A + 1280)), "and the statistics are finished there");
        assertEquals(List.of(BnReluKernels.BACKWARD_REDUCE, BnReluKernels.BACKWARD_DX), kernels(m -> new BnReluKernels(m).backward(x, y, A, A + 256,
                A + 512, A + 768, 1e-5, true, y, false, A + 1024, A + 1280)));
    }

    @Test
    void syncBatchNormAllReducesItsSumsBetweenTheKernelsThatMakeAndReadThem() {
        RecordingModule m = new RecordingModule();
        List<String> order = new ArrayList<>();
        ReplicaSums third = new Replicas(2, 3, (address, doubles, average) -> order.add("after " + m.launches.size() + " launches: "
                + (average ? "average" : "sum") + " of " + doubles + " at " + (address - RecordingModule.SCRATCH)));
        DeviceSlice x = slice(A, 64, 40, 32, 32, 100 * 1024), dy = slice(A + (64 << 20), 64, 40, 32, 32, 40 * 1024);
        new BnStatsKernels(m).replicaStatistics(x, A, A + 256, third);
        // 40 channels x 16 chunks x two doubles of partial sums (10,240 bytes), then [3 ranks][40][2] doubles gathered
        assertEquals(List.of(10240L + 3 * 40 * 2 * 8), m.scratchRequests);
        assertEquals(List.of(BnStatsKernels.STATS_PARTIAL, BnStatsKernels.STATS_GATHER, BnStatsKernels.STATS_COMBINE),
                m.launches.stream().map(RecordingModule.Launch::kernel).toList());
        assertEquals(List.of("after 2 launches: sum of 240 at 10240"), order, "the all-gather as a sum, between gather and combine");
        KernelArgs gather = m.launches.get(1).args();
        assertEquals(List.of(64.0 * 1024, 2, 3, RecordingModule.SCRATCH + 10240), List.of(gather.value(5), gather.value(6), gather.value(7),
                gather.value(8)), "count per replica, rank, ranks, the gathered slots");
        assertEquals(List.of(3, 64.0 * 1024, A, A + 256), List.of(m.launches.get(2).args().value(2), m.launches.get(2).args().value(3),
                m.launches.get(2).args().value(4), m.launches.get(2).args().value(5)));

        new BnReluKernels(m).applyTraining(x, A, A + 256, false, A + 512, A + 768, 1e-5, true, dy, 0.1, A + 1024, A + 1280, third);
        KernelArgs apply = m.last().args();
        assertEquals(BnReluKernels.APPLY, m.last().kernel());
        assertEquals(List.of(BnStatsKernels.unbias(3L * 64 * 1024), 0L), List.of(apply.value(14), apply.value(17)),
                "the running variance is unbiased over all replicas' values; the statistics are given");

        new BnReluKernels(m).backward(x, dy, A, A + 256, A + 512, A + 768, 1e-5, true, dy, true, A + 1024, A + 1280, third);
        assertEquals(List.of(BnReluKernels.BACKWARD_REDUCE, BnReluKernels.BACKWARD_DX),
                m.launches.subList(4, 6).stream().map(RecordingModule.Launch::kernel).toList());
        assertEquals("after 5 launches: average of 1280 at 0", order.get(1), "the gradient sums averaged between reduce and dx");
    }

    private static List<String> kernels(Consumer<RecordingModule> op) {
        RecordingModule m = new RecordingModule();
        op.accept(m);
        return m.launches.stream().map(RecordingModule.Launch::kernel).toList();
    }

    @Test
    void shapeMismatchesAreRejectedBeforeAnyLaunch() {
        RecordingModule m = new RecordingModule();
        DeviceSlice x = slice(A, 2, 3, 8, 8, 192), wrong = slice(A, 2, 4, 8, 8, 256);
        assertThrows(IllegalArgumentException.class, () -> new ElementwiseKernels(m).copy(x, wrong, false));
        assertThrows(IllegalArgumentException.class, () -> new BnReluKernels(m).apply(x, A, A, A, A, 1e-5, true, wrong));
        assertThrows(IllegalArgumentException.class, () -> new BnReluKernels(m).applyTraining(x, A, A + 64, false, A, A, 1e-5, true, x, 0.1, A,
                A + 128), "running statistics that are the batch statistics");
        assertThrows(IllegalArgumentException.class, () -> new BnReluKernels(m).applyTraining(x, A, A + 64, false, A, A, 1e-5, true, x, 1.5,
                A + 128, A + 192));
        assertThrows(IllegalArgumentException.class, () -> new BnReluKernels(m).applyTraining(x, A, A + 64, true, A, A, 1e-5, true, x, 0.1,
                A + 128, A + 192), "statistics computed in place");
        assertThrows(IllegalArgumentException.class, () -> new PoolKernels(m).avgForward(x, slice(A, 2, 3, 5, 4, 60), new Pool2d(2, 2, 0)));
        assertThrows(IllegalArgumentException.class, () -> new ElementwiseKernels(m).dropoutForward(x, x, x, 1.0, 1));
        assertThrows(IllegalArgumentException.class, () -> new BnStatsKernels(m).updateRunning(3, A, A, 0, 0.1, A, A));
        assertThrows(IllegalArgumentException.class, () -> new LossKernels(m).softmaxCrossEntropy(A, A, 0, 4, 10, A + 4));
        assertThrows(IllegalArgumentException.class, () -> new BnStatsKernels(m).statistics(x, 0, A));
        assertFalse(m.launches.iterator().hasNext(), "nothing may be launched for a rejected call");
        assertFalse(m.scratchRequests.iterator().hasNext(), "nor scratch asked for");
    }
}
