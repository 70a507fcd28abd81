package org.densenet.tests.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Precision;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.engine.cuda.EmulatedGpu;
import org.densenet.engine.cuda.ffm.NativeLibrary;
import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.engine.io.HostTensor;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Parameters;
import org.densenet.train.Checkpoint;
import org.densenet.train.DataParallel;
import org.densenet.train.LrSchedule;
import org.densenet.train.TrainConfig;
import org.densenet.train.Trainer;
import org.densenet.train.data.Batch;
import org.densenet.train.data.BatchLoader;
import org.densenet.train.data.Dataset;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Datasets;
import org.densenet.train.data.Decoding;
import org.densenet.train.data.DistributedSampler;
import org.densenet.train.data.Transform;
import org.densenet.train.dist.DataParallelTraining;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data-parallel training step on two emulated GPUs, each rank a thread with its own CUDA
 * backend, through the stand-in NCCL: the trainer as `train --gpus 2` runs it. Batch norm keeps
 * per-GPU statistics, so two ranks at batch b are not one at 2b; what must hold instead is that
 * every rank holds the same weights after every step, that the gradient they step with is the mean
 * of the gradients of their own half batches, that only rank 0 writes, and that a resumed run
 * repeats an uninterrupted one bit for bit.
 */
@Tag("gpu")
class DataParallelTrainingGpuTest {
    private static final int RANKS = 2, BATCH = 4, SEED = 7;

    @TempDir
    Path dir;

    /** How each test's world runs: overlapping backward in DDP's buckets unless a test says otherwise. */
    private UnaryOperator<DataParallelTraining.World> worldAs = w -> w;

    @Test
    void ranksStayIdenticalAndStepWithTheMeanOfTheirHalfBatchGradients() throws Exception {
        requireEmulated();
        // after backward, so that each rank's own gradient can be read before the average
        worldAs = w -> w.with(false, w.firstBucketBytes(), w.bucketBytes());
        List<Recording> recorded = new ArrayList<>();
        Trainer.Result r = train(config(dir.resolve("run"), 4), null, dp -> {
            Recording rec = new Recording(dp);
            synchronized (recorded) {
                recorded.add(rec);
            }
            return rec;
        });
        assertEquals(Trainer.Outcome.MAX_STEPS, r.outcome(), r.message());
        recorded.sort((a, b) -> Integer.compare(a.rank(), b.rank()));
        Recording r0 = recorded.get(0), r1 = recorded.get(1);
        assertEquals(4, r0.after.size());
        for (int step = 0; step < 4; step++) {
            assertArrayEquals(r0.weightsBefore.get(step), r1.weightsBefore.get(step), "weights before step " + step);
            assertArrayEquals(r0.weightsAfter.get(step), r1.weightsAfter.get(step), "weights after step " + step);
            assertNotEquals(l2(diff(r0.before.get(step), r1.before.get(step))), 0.0, "the ranks' own gradients differ (other samples)");
            float[] mean = new float[r0.before.get(step).length];
            for (int i = 0; i < mean.length; i++) mean[i] = 0.5f * r0.before.get(step)[i] + 0.5f * r1.before.get(step)[i];
            assertArrayEquals(mean, r0.after.get(step), "rank 0 steps with the mean gradient at step " + step);
            assertArrayEquals(mean, r1.after.get(step), "rank 1 steps with the mean gradient at step " + step);
        }
        // Each rank's own first gradient is its half batch's, as the CPU computes it from the same weights and samples.
        for (Recording rec : recorded) {
            float[] cpu = cpuGradientOfFirstBatch(config(dir.resolve("cpu"), 1), rec.rank(), rec.weightsBefore.get(0));
            double rel = l2(diff(rec.before.get(0), cpu)) / l2(cpu);
            assertTrue(rel < 1e-4, "rank " + rec.rank() + "'s gradient is " + rel + " (relative) from the CPU's on its half batch");
        }
    }

    @Test
    void withSyncBatchNormTwoRanksAtBatch8TrainAsOneAtBatch16AndWithoutItTheyDoNot() throws Exception {
        requireEmulated();
        Path one = dir.resolve("one");
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config(one, 3, 16, false, MemoryMode.SHARED), null, dp -> dp, 1, System.out).outcome());
        Checkpoint reference = Checkpoint.load(one.resolve("last.safetensors"));
        // shared mode synchronises the once-per-channel statistics, naive mode each batch norm's own (the modes agree on one GPU)
        double synced = 0;
        for (MemoryMode mode : List.of(MemoryMode.SHARED, MemoryMode.NAIVE)) {
            Path sync = dir.resolve("synced-" + mode.label());
            assertEquals(Trainer.Outcome.MAX_STEPS, train(config(sync, 3, 8, true, mode), null, dp -> dp).outcome());
            Checkpoint saved = Checkpoint.load(sync.resolve("last.safetensors"));
            assertTrue(saved.config().syncBatchNorm(), "the checkpoint records --sync-bn");
            // weights and running statistics after 3 steps: the same global batches, the same statistics, to float32 rounding
            double worst = worstRelativeDifference(saved, reference);
            assertTrue(worst < 1e-5, mode.label() + ": the worst tensor with --sync-bn is " + worst + " (relative) from one rank's at batch 16");
            synced = Math.max(synced, worst);
        }
        Path perGpu = dir.resolve("per-gpu");
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config(perGpu, 3, 8, false, MemoryMode.SHARED), null, dp -> dp).outcome());
        Checkpoint unsynced = Checkpoint.load(perGpu.resolve("last.safetensors"));
        assertFalse(unsynced.config().syncBatchNorm());
        double apart = worstRelativeDifference(unsynced, reference);
        assertTrue(apart > 100 * synced, "per-GPU statistics are another computation: worst " + apart + " against " + synced + " with --sync-bn");
    }

    /** The largest relative L2 difference of a weight or running statistic of {@code a} from {@code b}'s. */
    private static double worstRelativeDifference(Checkpoint a, Checkpoint b) {
        double worst = 0;
        int running = 0;
        for (var e : b.weights().entrySet()) {
            if (e.getKey().endsWith("num_batches_tracked")) continue;
            worst = Math.max(worst, relative(a.weights().get(e.getKey()).toFloatArray(), e.getValue().toFloatArray()));
            if (e.getKey().contains("running_")) running++;
        }
        assertTrue(running > 0, "running statistics compared");
        return worst;
    }

    @Test
    void allReducesOverlappingBackwardStartBeforeItEndsAndGiveTheSameBitsAsAfterIt() throws Exception {
        requireEmulated();
        // buckets of 1 KiB, then 4 KiB: the 8,562 parameters make several, the head's first
        long first = 1 << 10, rest = 4 << 10;
        Path after = dir.resolve("after"), overlapped = dir.resolve("overlapped");
        worldAs = w -> w.with(false, first, rest);
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config(after, 3, BATCH, true, MemoryMode.SHARED), null, dp -> dp).outcome());
        worldAs = w -> w.with(true, first, rest);
        List<CallOrder> orders = new ArrayList<>();
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config(overlapped, 3, BATCH, true, MemoryMode.SHARED), null, dp -> {
            CallOrder o = new CallOrder(dp);
            synchronized (orders) {
                orders.add(o);
            }
            return o;
        }).outcome());
        Checkpoint a = Checkpoint.load(after.resolve("last.safetensors")), b = Checkpoint.load(overlapped.resolve("last.safetensors"));
        assertArrayEquals(a.momentum(), b.momentum(), "momentum");
        for (var e : a.weights().entrySet()) assertArrayEquals(e.getValue().toFloatArray(), b.weights().get(e.getKey()).toFloatArray(), e.getKey());
        assertEquals(2, orders.size());
        for (CallOrder o : orders) {
            assertEquals(3, o.steps.size(), "rank " + o.rank());
            for (CallOrder.Step st : o.steps) {
                String at = "rank " + o.rank() + " step " + st.step() + ": ";
                assertTrue(st.bucketsStarted() >= 3, at + st.bucketsStarted() + " buckets started during backward");
                assertTrue(st.firstIssuedAtLaunch() < st.backwardEndLaunch(), at + "the first bucket's all-reduce was issued after "
                        + st.firstIssuedAtLaunch() + " kernel launches, backward ended after " + st.backwardEndLaunch());
            }
        }
    }

    @Test
    void onlyRankZeroWritesAndAResumedRunRepeatsAnUninterruptedOne() throws Exception {
        requireEmulated();
        Path straight = dir.resolve("straight"), first = dir.resolve("first"), second = dir.resolve("second");
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config(straight, 5), null, dp -> dp).outcome());
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config(first, 3), null, dp -> dp).outcome());
        for (Path p : List.of(straight, first)) {
            assertTrue(Files.isRegularFile(p.resolve("last.safetensors")), "rank 0 saved " + p);
            assertFalse(Files.exists(Path.of(p + "-rank1")), "rank 1 (given its own folder) wrote nothing");
        }
        Checkpoint saved = Checkpoint.load(first.resolve("last.safetensors"));
        assertEquals(RANKS, saved.state().worldSize());
        assertEquals(3, saved.state().batch());
        TrainConfig resumed = config(second, 5);
        train(resumed, saved, dp -> dp);
        Checkpoint a = Checkpoint.load(straight.resolve("last.safetensors")), b = Checkpoint.load(second.resolve("last.safetensors"));
        assertEquals(5, b.state().globalStep());
        assertArrayEquals(a.momentum(), b.momentum(), "momentum");
        for (var e : a.weights().entrySet()) {
            HostTensor other = b.weights().get(e.getKey());
            assertArrayEquals(e.getValue().toFloatArray(), other.toFloatArray(), e.getKey());
        }
    }

    @Test
    void aStopSeenOnOneRankStopsBothAfterTheSameStepAndRankZeroSavesIt() throws Exception {
        requireEmulated();
        Path out = dir.resolve("stopped");
        Trainer.Result r = train(config(out, 10), null, dp -> dp.rank() == 1 ? new StoppingAfter(dp, 2) : dp);
        assertEquals(Trainer.Outcome.INTERRUPTED, r.outcome(), "rank 0 was not asked, yet stops: " + r.message());
        assertTrue(r.message().contains("batch 2"), r.message());
        assertEquals(2, Checkpoint.load(out.resolve("last.safetensors")).state().globalStep());
    }

    @Test
    void aCheckpointOfTwoRanksResumesOnOneSayingThatTheBatchOrderChanges() throws Exception {
        requireEmulated();
        Path first = dir.resolve("first"), second = dir.resolve("second");
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config(first, 3), null, dp -> dp).outcome());
        java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream();
        Trainer.Result r = train(config(second, 5), Checkpoint.load(first.resolve("last.safetensors")), dp -> dp, 1,
                new PrintStream(text, true, java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(Trainer.Outcome.MAX_STEPS, r.outcome(), r.message());
        String said = text.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(said.contains("note: the checkpoint was trained on 2 GPUs, this run has 1: the global batch becomes 4"), said);
        assertTrue(said.contains("resuming at epoch 1, batch 6 (step 3)"), "3 steps of 2 x 4 samples are 6 of 4: " + said);
        Checkpoint ck = Checkpoint.load(second.resolve("last.safetensors"));
        assertEquals(5, ck.state().globalStep());
        assertEquals(1, ck.state().worldSize());
        assertEquals(8, ck.state().batch());
    }

    @Test
    void aGradientThatIsNotFiniteOnOneRankEndsTheRunAsDivergedOnEvery() throws Exception {
        requireEmulated();
        worldAs = w -> w.with(false, w.firstBucketBytes(), w.bucketBytes());
        Trainer.Result r = train(config(dir.resolve("diverged"), 10), null, dp -> dp.rank() == 1 ? new PoisonedAt(dp, 1) : dp);
        assertEquals(Trainer.Outcome.DIVERGED, r.outcome(), r.message());
        // the average carried rank 1's NaN into both ranks' weights: the next step's loss is NaN on both, and the first to see it ends the run
        assertTrue(r.message().startsWith("training diverged: the loss is NaN") && r.message().contains("(step 3)"), r.message());
    }

    @Test
    void aRankThatFailsEndsTheOtherThroughAnAbortNamingIt() throws Exception {
        requireEmulated();
        long t0 = System.nanoTime();
        DataParallelTraining.RankFailure e = assertThrows(DataParallelTraining.RankFailure.class,
                () -> train(config(dir.resolve("run"), 4), null, dp -> dp.rank() == 1 ? new FailingAt(dp, 2) : dp));
        assertTrue(e.getMessage().startsWith("rank 1 of 2 failed: rank 1 gives up at step 2"), e.getMessage());
        assertTrue((System.nanoTime() - t0) / 1e9 < 50, "rank 0 was ended by the abort, not the 60 s NCCL timeout");
    }

    @Test
    void aRankThatHangsIsEndedByTheOthersNcclTimeout() throws Exception {
        requireEmulated();
        long t0 = System.nanoTime();
        DataParallelTraining.RankFailure e = assertThrows(DataParallelTraining.RankFailure.class,
                () -> train(config(dir.resolve("run"), 4), null, dp -> dp.rank() == 1 ? new HangingAt(dp, 1, 8_000) : dp, RANKS,
                        System.out, Duration.ofSeconds(2)));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(e.getMessage().startsWith("rank 0 of 2 failed: rank 0 of 2: all-reduce of bucket 0 of step 1 did not complete within 2 s"
                + " (--nccl-timeout); another rank died, hangs or never reached it; the communicator was aborted"), e.getMessage());
        assertTrue(seconds < 30, "ended by the 2 s timeout and the abort, in " + seconds + " s");
    }

    private static void requireEmulated() {
        Assumptions.assumeTrue(EmulatedGpu.requested(),
                "two GPUs and NCCL are needed; the build's gpu-emulated run proves this on two emulated devices");
    }

    private static TrainConfig config(Path out, long maxSteps) {
        return config(out, maxSteps, BATCH, false, MemoryMode.SHARED);
    }

    private static TrainConfig config(Path out, long maxSteps, int batch, boolean syncBatchNorm, MemoryMode memory) {
        DenseNetConfig model = DenseNetConfig.cifar(10, 4, false, 1.0, 0.0, 10);
        return new TrainConfig("densenet-10-4", model, memory, DatasetKind.SYNTHETIC, null, false, false, 8, batch,
                LrSchedule.step(0.1, 1, new double[] {0.5, 0.75}, 0), 0.9, 1e-4, true, SEED, "cuda", 1, Decoding.DEFAULT, out, maxSteps, "",
                Precision.FP32, syncBatchNorm);
    }

    /** |a - b| / |b| in the L2 norm. */
    private static double relative(float[] a, float[] b) {
        return l2(diff(a, b)) / Math.max(l2(b), 1e-30);
    }

    private Trainer.Result train(TrainConfig cfg, Checkpoint resume, java.util.function.UnaryOperator<DataParallel> wrap) throws Exception {
        return train(cfg, resume, wrap, RANKS, System.out);
    }

    private Trainer.Result train(TrainConfig cfg, Checkpoint resume, java.util.function.UnaryOperator<DataParallel> wrap, int ranks,
                                 PrintStream out) throws Exception {
        return train(cfg, resume, wrap, ranks, out, Duration.ofSeconds(60));
    }

    private Trainer.Result train(TrainConfig cfg, Checkpoint resume, java.util.function.UnaryOperator<DataParallel> wrap, int ranks,
                                 PrintStream out, Duration ncclTimeout) throws Exception {
        Nccl nccl = EmulatedGpu.nccl();
        List<CudaBackend> backends = new ArrayList<>();
        try {
            for (int g = 0; g < ranks; g++) backends.add(EmulatedGpu.open(g));
            PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
            AtomicBoolean stop = new AtomicBoolean();
            // Rank 1 gets a folder of its own: that it stays absent shows it wrote nothing.
            return DataParallelTraining.run(worldAs.apply(new DataParallelTraining.World(nccl, nccl.uniqueId(), 0, ranks, ncclTimeout)), backends,
                    (rank, backend) -> new Trainer(rank == 0 ? cfg : withOutput(cfg, Path.of(cfg.output() + "-rank1")), backend,
                            rank == 0 ? out : nowhere, stop, false, 30, 0), resume, wrap);
        } finally {
            for (CudaBackend b : backends) b.close();
        }
    }

    private static TrainConfig withOutput(TrainConfig c, Path out) {
        return new TrainConfig(c.modelName(), c.model(), c.memory(), c.dataset(), c.dataDir(), c.download(), c.augment(), c.imageSize(),
                c.batchSize(), c.schedule(), c.momentum(), c.weightDecay(), c.nesterov(), c.seed(), c.device(), c.workers(), c.decoding(), out,
                c.maxSteps(), c.pretrained(), c.precision(), c.syncBatchNorm());
    }

    /** Rank {@code rank}'s gradient on its first batch of epoch 0, on the CPU, from {@code weights}. */
    private static float[] cpuGradientOfFirstBatch(TrainConfig cfg, int rank, float[] weights) {
        Dataset train = Datasets.open(cfg.dataset(), cfg.dataDir(), true, false, cfg.imageSize(), cfg.seed(), cfg.decoding());
        Transform t = Datasets.trainTransform(cfg.dataset(), train, false);
        int[] shard = new DistributedSampler(train.size(), RANKS, rank, false).shard(cfg.seed(), 0);
        try (Backend cpu = new CpuBackend(2); BatchLoader loader = new BatchLoader(train, t, BATCH, 1);
             BatchLoader.Epoch epoch = loader.epoch(shard, cfg.seed(), 0, 0);
             DenseNet net = new DenseNet(cfg.model(), cpu, cfg.memory(), cfg.seed());
             Tensor images = cpu.allocate(DType.F32, BATCH, t.channels(), t.height(), t.width());
             Tensor labels = cpu.allocate(DType.I32, BATCH); Tensor dLogits = cpu.allocate(DType.F32, BATCH, cfg.model().numClasses())) {
            Batch b = epoch.next();
            cpu.uploadImages(b.pixels(), images, t.normalization().forUpload());
            cpu.upload(b.labels(), labels);
            Parameters p = net.parameters();
            cpu.upload(weights, p.values());
            net.setTrainingStep(0);
            cpu.softmaxCrossEntropy(net.forward(images, true), labels, dLogits);
            net.backward(dLogits);
            float[] g = new float[(int) p.grads().numel()];
            cpu.download(p.grads(), g);
            return g;
        }
    }

    private static float[] diff(float[] a, float[] b) {
        float[] d = new float[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i] - b[i];
        return d;
    }

    private static double l2(float[] a) {
        double s = 0;
        for (float v : a) s += (double) v * v;
        return Math.sqrt(s);
    }

    private static float[] download(Backend b, Tensor t) {
        float[] h = new float[(int) t.numel()];
        b.download(t, h);
        return h;
    }

    /** Passes every collective on, keeping each step's weights and gradients before and after the average. */
    private static class Recording extends ForwardingDataParallel {
        final List<float[]> weightsBefore = new ArrayList<>(), weightsAfter = new ArrayList<>(), before = new ArrayList<>(), after = new ArrayList<>();
        private Parameters params;

        Recording(DataParallel inner) {
            super(inner);
        }

        @Override
        public void averageGradients(Parameters p, long step) {
            params = p;
            Backend b = p.values().storage().backend();
            weightsBefore.add(download(b, p.values()));
            before.add(download(b, p.grads()));
            inner.averageGradients(p, step);
            after.add(download(b, p.grads()));
        }

        @Override
        public boolean anyStop(boolean here, long step) {
            // The update of the step is queued by now; the download waits for it.
            weightsAfter.add(download(params.values().storage().backend(), params.values()));
            return inner.anyStop(here, step);
        }
    }

    /**
     * When each step's all-reduces were issued, against the kernels backward had launched by then: the
     * stand-in NCCL counts the calls of the calling thread (one rank), the backend its own kernel launches.
     */
    private static final class CallOrder extends Recording {
        record Step(long step, long firstIssuedAtLaunch, int bucketsStarted, long backwardEndLaunch) {
        }

        private final java.lang.invoke.MethodHandle threadCalls = ncclHook();
        final List<Step> steps = new ArrayList<>();
        private long firstIssued = -1;
        private int started;

        CallOrder(DataParallel inner) {
            super(inner);
        }

        private static java.lang.invoke.MethodHandle ncclHook() {
            try {
                return NativeLibrary.open(EmulatedGpu.libraryFolder().resolve("libnccl.so.2").toString()).function("fake_nccl_thread_calls",
                        java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_LONG));
            } catch (NativeLibrary.LoadFailure e) {
                throw new IllegalStateException(e);
            }
        }

        private long calls() {
            try {
                return (long) threadCalls.invokeExact();
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        @Override
        public void gradientsReady(Parameters p, long from, long step) {
            long before = calls();
            super.gradientsReady(p, from, step);
            long issued = calls() - before;
            if (issued > 0 && firstIssued < 0) firstIssued = p.grads().backend().kernelLaunches();
            started += (int) issued;
        }

        @Override
        public void averageGradients(Parameters p, long step) {
            steps.add(new Step(step, firstIssued, started, p.grads().backend().kernelLaunches()));
            firstIssued = -1;
            started = 0;
            super.averageGradients(p, step);
        }
    }

    /** A rank that sees a stop (a signal) after step {@code step}, as only one process of a run may. */
    private static final class StoppingAfter extends Recording {
        private final long step;

        StoppingAfter(DataParallel inner, long step) {
            super(inner);
            this.step = step;
        }

        @Override
        public boolean anyStop(boolean here, long s) {
            return super.anyStop(here || s == step, s);
        }
    }

    /** A rank whose gradient is NaN at step {@code step}, as after an overflow in its backward. */
    private static final class PoisonedAt extends Recording {
        private final long step;

        PoisonedAt(DataParallel inner, long step) {
            super(inner);
            this.step = step;
        }

        @Override
        public void averageGradients(Parameters p, long s) {
            if (s == step) p.grads().backend().fill(p.grads(), Double.NaN);
            super.averageGradients(p, s);
        }
    }

    /** A rank that stalls in backward at step {@code step}, before its first bucket's all-reduce (as a hung process would), then goes on. */
    private static final class HangingAt extends Recording {
        private final long step, millis;
        private boolean stalled;

        HangingAt(DataParallel inner, long step, long millis) {
            super(inner);
            this.step = step;
            this.millis = millis;
        }

        @Override
        public void gradientsReady(Parameters p, long from, long s) {
            if (s == step && !stalled) {
                stalled = true;
                try {
                    Thread.sleep(millis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            super.gradientsReady(p, from, s);
        }
    }

    /** A rank whose step fails before its all-reduce, leaving the other waiting in it. */
    private static final class FailingAt extends Recording {
        private final long step;

        FailingAt(DataParallel inner, long step) {
            super(inner);
            this.step = step;
        }

        @Override
        public void averageGradients(Parameters p, long s) {
            if (s == step) throw new IllegalStateException("rank " + rank() + " gives up at step " + s);
            super.averageGradients(p, s);
        }
    }
}
