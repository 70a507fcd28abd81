package org.densenet.tests.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

import org.densenet.engine.Precision;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.engine.cuda.EmulatedGpu;
import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.engine.io.HostTensor;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Parameters;
import org.densenet.train.Checkpoint;
import org.densenet.train.DataParallel;
import org.densenet.train.LrSchedule;
import org.densenet.train.TrainConfig;
import org.densenet.train.Trainer;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Decoding;
import org.densenet.train.dist.DataParallelTraining;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `train --gpus 2` with CUDA graphs on two emulated GPUs: each rank captures its step, all-reduces
 * included, on its own thread, and replays it. The ranks must end with the same weights, momentum
 * and running statistics, bit for bit, as two ranks issuing every op each step, over steps whose
 * learning rate changes every step (a cosine schedule), with the all-reduces overlapping backward,
 * with --sync-bn, with the all-reduces after backward, and in fp16 with its loss scaler (whose skip
 * check reads the averaged gradients inside the graph); and every step after the first must be
 * a graph launch on each rank. A capture that fails on one rank makes every rank run uncaptured.
 */
@Tag("gpu")
class DataParallelGraphsGpuTest {
    private static final int RANKS = 2, BATCH = 4, SEED = 7, STEPS = 4;

    @TempDir
    Path dir;

    @Test
    void twoRanksReplayingGraphsEndAsTwoRanksIssuingEveryOpBitForBit() throws Exception {
        Assumptions.assumeTrue(EmulatedGpu.requested(), "two GPUs and NCCL are needed; the build's gpu-emulated run proves this on two emulated devices");
        record Case(String name, boolean overlap, boolean syncBatchNorm, Precision precision) {
        }
        for (Case c : List.of(new Case("overlapped", true, false, Precision.FP32), new Case("overlapped-sync-bn", true, true, Precision.FP32),
                new Case("after-backward-sync-bn", false, true, Precision.FP32), new Case("fp16-overlapped", true, false, Precision.FP16))) {
            Path plain = dir.resolve(c.name() + "-plain"), graphed = dir.resolve(c.name() + "-graphs");
            train(config(plain, c.syncBatchNorm(), c.precision()), c.overlap(), false, new ByteArrayOutputStream());
            long before = EmulatedGpu.graphLaunches();
            ByteArrayOutputStream said = new ByteArrayOutputStream();
            train(config(graphed, c.syncBatchNorm(), c.precision()), c.overlap(), true, said);
            assertEquals(RANKS * (STEPS - 1), EmulatedGpu.graphLaunches() - before, c.name() + ": every step but the warm-up replayed on each rank");
            String text = said.toString(StandardCharsets.UTF_8);
            assertFalse(text.contains("runs uncaptured"), c.name() + ": " + text);
            Checkpoint a = Checkpoint.load(plain.resolve("last.safetensors")), b = Checkpoint.load(graphed.resolve("last.safetensors"));
            assertEquals(STEPS, b.state().globalStep());
            assertArrayEquals(a.momentum(), b.momentum(), c.name() + ": momentum");
            assertEquals(a.scaler(), b.scaler(), c.name() + ": the loss scaler's state");
            for (var e : a.weights().entrySet()) {
                HostTensor other = b.weights().get(e.getKey());
                assertArrayEquals(e.getValue().toFloatArray(), other.toFloatArray(), c.name() + ": " + e.getKey());
            }
        }
    }

    /**
     * NCCL asks every rank to capture a collective or none: when one rank's capture fails (here rank 1 reads its gradients on
     * the host inside the step, which a capture refuses), the other drops its graph too and both run the step uncaptured,
     * saying why; after two such failures they stop trying. The weights are those of a run without graphs.
     */
    @Test
    void aCaptureThatFailsOnOneRankRunsTheStepUncapturedOnEvery() throws Exception {
        Assumptions.assumeTrue(EmulatedGpu.requested(), "two GPUs and NCCL are needed; the build's gpu-emulated run proves this on two emulated devices");
        Path plain = dir.resolve("plain"), graphed = dir.resolve("graphs");
        train(config(plain, false), true, false, new ByteArrayOutputStream(), dp -> dp);
        long before = EmulatedGpu.graphLaunches();
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        train(config(graphed, false), true, true, said, dp -> dp.rank() == 1 ? new ReadingGradients(dp) : dp);
        assertEquals(0, EmulatedGpu.graphLaunches() - before, "no graph launched on either rank");
        String text = said.toString(StandardCharsets.UTF_8);
        assertEquals(1, text.lines().filter(l -> l.equals("cuda graphs: the training step on a batch of 4 runs uncaptured: another"
                + " data-parallel rank could not capture it, and every rank must replay the same collectives")).count(), text);
        Checkpoint a = Checkpoint.load(plain.resolve("last.safetensors")), b = Checkpoint.load(graphed.resolve("last.safetensors"));
        assertArrayEquals(a.momentum(), b.momentum(), "momentum");
        for (var e : a.weights().entrySet()) assertArrayEquals(e.getValue().toFloatArray(), b.weights().get(e.getKey()).toFloatArray(), e.getKey());
    }

    /** A rank that reads its gradients on the host before averaging them: its step cannot be captured. */
    private static final class ReadingGradients extends ForwardingDataParallel {
        ReadingGradients(DataParallel inner) {
            super(inner);
        }

        @Override
        public void averageGradients(Parameters p, long step) {
            p.grads().backend().download(p.grads(), new float[(int) p.grads().numel()]);
            inner.averageGradients(p, step);
        }
    }

    private static TrainConfig config(Path out, boolean syncBatchNorm) {
        return config(out, syncBatchNorm, Precision.FP32);
    }

    private static TrainConfig config(Path out, boolean syncBatchNorm, Precision precision) {
        DenseNetConfig model = DenseNetConfig.cifar(10, 4, false, 1.0, 0.0, 10);
        return new TrainConfig("densenet-10-4", model, MemoryMode.SHARED, DatasetKind.SYNTHETIC, null, false, false, 8, BATCH,
                LrSchedule.cosine(0.1, 1, 0), 0.9, 1e-4, true, SEED, "cuda", 1, Decoding.DEFAULT, out, STEPS, "", precision,
                syncBatchNorm);
    }

    private static void train(TrainConfig cfg, boolean overlap, boolean graphs, OutputStream said) throws Exception {
        train(cfg, overlap, graphs, said, dp -> dp);
    }

    /** Trains {@code cfg} on two emulated ranks, each rank's collectives wrapped by {@code wrap}; rank 0 says what it says on {@code said}. */
    private static void train(TrainConfig cfg, boolean overlap, boolean graphs, OutputStream said, UnaryOperator<DataParallel> wrap)
            throws Exception {
        Nccl nccl = EmulatedGpu.nccl();
        List<CudaBackend> backends = new ArrayList<>();
        try {
            for (int g = 0; g < RANKS; g++) backends.add(EmulatedGpu.open(g, cfg.precision(), graphs));
            PrintStream out = new PrintStream(said, true, StandardCharsets.UTF_8), nowhere = new PrintStream(OutputStream.nullOutputStream());
            DataParallelTraining.World w = new DataParallelTraining.World(nccl, nccl.uniqueId(), 0, RANKS, Duration.ofSeconds(60));
            Trainer.Result r = DataParallelTraining.run(w.with(overlap, w.firstBucketBytes(), w.bucketBytes()), backends,
                    (rank, backend) -> new Trainer(cfg, backend,
                            rank == 0 ? out : nowhere, new AtomicBoolean(), false, 30, 0), null, wrap);
            assertEquals(Trainer.Outcome.MAX_STEPS, r.outcome(), r.message());
        } finally {
            for (CudaBackend b : backends) b.close();
        }
    }
}
