package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.densenet.engine.CapturedGraph;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.ffm.Nccl;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Gradient averages captured in a CUDA graph with the work that makes the gradients: nothing is
 * reduced during the capture, and every replay averages what the ranks hold then, through both
 * paths (the overlapped buckets on the collectives' stream, and one NCCL group on the backend's
 * stream). A replay that a peer never joins is ended by the watchdog, naming the replay. On the
 * emulated device: two ranks, threads of this process, through the stand-in NCCL, each capturing in
 * the thread-local mode. On a GPU: one rank through the real NCCL (an average over one rank leaves
 * the values as they are), the cheapest proof that a real NCCL call is captured and replayed.
 */
@Tag("gpu")
class GradientAllReduceGraphGpuTest {
    private static final int N = 3000, REPLAYS = 3;
    private static final long[] OFFSETS = {1800, 0};
    private static final long[] COUNTS = {1200, 1800};

    @Test
    void capturedAveragesReduceWhatTheRanksHoldAtEachReplay() throws Exception {
        boolean emulated = EmulatedGpu.requested();
        Nccl nccl = EmulatedGpu.ncclOrSkip();
        int ranks = emulated ? 2 : 1;
        Random rng = new Random(29);
        float[][][] inputs = new float[ranks][REPLAYS][N];
        for (float[][] r : inputs) for (float[] x : r) for (int i = 0; i < N; i++) x[i] = rng.nextFloat() * 2 - 1;
        float[][][] overlapped = new float[ranks][REPLAYS][], grouped = new float[ranks][REPLAYS][];
        List<CudaBackend> backends = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        long launchesBefore = emulated ? EmulatedGpu.graphLaunches() : 0;
        try {
            for (int r = 0; r < ranks; r++) backends.add(open(emulated));
            byte[] id = nccl.uniqueId();
            List<Future<?>> done = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                done.add(pool.submit(() -> {
                    CudaBackend b = backends.get(rank);
                    try (GradientAllReduce reduce = new GradientAllReduce(b, nccl.initRank(ranks, id, rank), Duration.ofSeconds(30));
                         Tensor src = b.allocate(DType.F32, N); Tensor g = b.allocate(DType.F32, N); Tensor h = b.allocate(DType.F32, N)) {
                        b.fill(src, 0.5);
                        b.synchronize();
                        try (CapturedGraph graph = b.capture(() -> {
                            b.copy(src, g, false);
                            for (int i = 0; i < OFFSETS.length; i++) reduce.startAverage(g, OFFSETS[i], COUNTS[i], "bucket " + i);
                            reduce.backwardQueued();
                            reduce.finishAverages("the captured buckets");
                            b.copy(src, h, false);
                            reduce.average(h, OFFSETS, COUNTS, "the captured group");
                        })) {
                            for (int k = 0; k < REPLAYS; k++) {
                                b.upload(inputs[rank][k], src);
                                graph.replay();
                                overlapped[rank][k] = download(b, g);
                                grouped[rank][k] = download(b, h);
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get(120, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
            for (CudaBackend b : backends) b.close();
        }
        for (int k = 0; k < REPLAYS; k++) {
            for (int r = 0; r < ranks; r++) {
                for (int i = 0; i < N; i++) {
                    double mean = 0;
                    for (int q = 0; q < ranks; q++) mean += inputs[q][k][i] / (double) ranks;
                    assertEquals(mean, overlapped[r][k][i], 1e-6, "replay " + k + ", rank " + r + ", overlapped bucket element " + i);
                    assertEquals(mean, grouped[r][k][i], 1e-6, "replay " + k + ", rank " + r + ", grouped bucket element " + i);
                }
            }
        }
        if (emulated) assertEquals(ranks * REPLAYS, EmulatedGpu.graphLaunches() - launchesBefore, "every replay was one graph launch");
    }

    @Test
    void aReplayThatAPeerNeverJoinsIsEndedByTheWatchdogNamingIt() throws Exception {
        Assumptions.assumeTrue(EmulatedGpu.requested(), "needs two ranks: the emulated device's run proves this");
        Nccl nccl = EmulatedGpu.nccl();
        List<CudaBackend> backends = List.of(EmulatedGpu.open(), EmulatedGpu.open());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            byte[] id = nccl.uniqueId();
            List<Future<Throwable>> done = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                done.add(pool.submit(() -> {
                    CudaBackend b = backends.get(rank);
                    try (GradientAllReduce reduce = new GradientAllReduce(b, nccl.initRank(2, id, rank), Duration.ofSeconds(1));
                         Tensor g = b.allocate(DType.F32, N)) {
                        b.fill(g, 1);
                        try (CapturedGraph graph = b.capture(() -> reduce.average(g, OFFSETS, COUNTS, "step 1"))) {
                            if (rank == 1) return null;   // rank 1 never replays
                            return assertThrows(RuntimeException.class, graph::replay);
                        }
                    }
                }));
            }
            Throwable e = done.get(0).get(60, TimeUnit.SECONDS);
            done.get(1).get(60, TimeUnit.SECONDS);
            assertInstanceOf(NcclWatchdog.NcclAbortedException.class, e, String.valueOf(e));
            assertTrue(e.getMessage().startsWith("rank 0 of 2: a replay of the captured graph holding its collectives (first captured:"
                    + " all-reduce of 2 buckets of step 1) did not complete within 1 s (--nccl-timeout)"), e.getMessage());
            assertTrue(e.getMessage().contains("; " + GradientAllReduce.REPLAY_HINT), e.getMessage());
        } finally {
            pool.shutdownNow();
            for (CudaBackend b : backends) b.close();
        }
    }

    private static CudaBackend open(boolean emulated) {
        CudaBackend b = emulated ? EmulatedGpu.open() : CudaBackend.open(0, false, true);
        assertTrue(b.capturesGraphs(), "graphs on");
        return b;
    }

    private static float[] download(CudaBackend b, Tensor t) {
        float[] h = new float[(int) t.numel()];
        b.download(t, h);
        return h;
    }
}
