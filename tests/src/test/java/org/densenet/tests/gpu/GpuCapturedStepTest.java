package org.densenet.tests.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;

import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.LossScaling;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.train.CapturedSteps;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Training steps captured as a CUDA graph and replayed against the same steps run op by op, on one
 * GPU backend from the same weights and batches: every loss, weight, momentum and running
 * statistic must be equal bit for bit, across a learning-rate change (the rate is read from device
 * memory the host writes before each step), and a step that cannot be captured runs uncaptured
 * with one line saying why.
 */
@Tag("gpu")
class GpuCapturedStepTest extends GpuParityTestBase {
    private static final DenseNetConfig BC = DenseNetConfig.cifar(16, 4, true, 0.5, 0.0, 10);
    private static final int BATCH = 4, SIZE = 8, STEPS = 5;

    /** One model with its device step state: the batch buffers the upload writes, momentum, the rate. */
    private static final class Run implements AutoCloseable {
        final CudaBackend be;
        final DenseNet net;
        final Tensor images, labels, dLogits, momentum, rate;
        /** FP16's loss scaling, with its state on the device; null for unscaled steps. */
        final LossScaling scaling;
        final Tensor scaler;
        long step;

        Run(DenseNetConfig config, MemoryMode mode) {
            this(config, mode, null);
        }

        Run(DenseNetConfig config, MemoryMode mode, LossScaling scaling) {
            this(gpu, config, mode, scaling);
        }

        /** On backend {@code be} (one opened in 16 bits, say). */
        Run(CudaBackend be, DenseNetConfig config, MemoryMode mode, LossScaling scaling) {
            this.be = be;
            net = new DenseNet(config, be, mode, 7);
            images = be.allocate(DType.F32, BATCH, config.inChannels(), SIZE, SIZE);
            labels = be.allocate(DType.I32, BATCH);
            dLogits = be.allocate(DType.F32, BATCH, config.numClasses());
            momentum = be.allocate(DType.F32, Math.toIntExact(net.parameters().values().numel()));
            rate = be.allocate(DType.F32, 1);
            be.fill(momentum, 0);
            this.scaling = scaling;
            scaler = scaling == null ? null : be.allocate(DType.F32, LossScaling.STATE_SIZE);
            if (scaler != null) be.upload(scaling.initialState(), scaler);
        }

        /** Writes the step's inputs, then runs it through graphs (or op by op when graphs is null). */
        LossResult step(float[] x, int[] y, double lr, CapturedSteps graphs) {
            be.upload(x, images);
            be.upload(y, labels);
            be.fill(rate, lr);
            long at = step++;
            net.setTrainingStep(at);   // writes dropout's seeds for the step outside the graph, as the trainer does
            SgdParams sgd = new SgdParams(lr, 0.9, 1e-4, true);
            java.util.function.Supplier<PendingLoss> work = () -> {
                net.setTrainingStep(at);
                PendingLoss l = be.softmaxCrossEntropyAsync(net.forward(images, true), labels, dLogits);
                if (scaler != null) be.scaleLossGradient(dLogits, scaler);
                net.backward(dLogits);
                if (scaler != null) be.checkGradientsAndUpdateScale(net.parameters().grads(), scaler, scaling);
                be.sgdStep(net.parameters().values(), net.parameters().grads(), momentum, sgd, rate, scaler);
                return l;
            };
            PendingLoss loss = graphs == null ? work.get() : graphs.run(images, "the test's step", "a batch of " + BATCH, work);
            net.completeTrainingStep(at);
            return loss.get();
        }

        @Override
        public void close() {
            images.close();
            labels.close();
            dLogits.close();
            momentum.close();
            rate.close();
            if (scaler != null) scaler.close();
            net.close();
        }
    }

    @Test
    void capturedStepsEqualUncapturedOnesBitForBitAcrossALearningRateChange() {
        for (MemoryMode mode : MemoryMode.values()) {
            ByteArrayOutputStream notes = new ByteArrayOutputStream();
            try (Run plain = new Run(BC, mode); Run captured = new Run(BC, mode);
                 CapturedSteps graphs = new CapturedSteps(gpu, new PrintStream(notes, true, StandardCharsets.UTF_8))) {
                assertTrue(graphs.enabled(), "the GPU backend captures graphs by default");
                Random rng = new Random(42 + mode.ordinal());
                for (int s = 0; s < STEPS; s++) {
                    float[] x = randomImages(rng);
                    int[] y = randomLabels(rng, BC.numClasses());
                    double lr = s < 3 ? 0.1 : 0.02;   // the schedule changes after the graph was captured
                    LossResult a = plain.step(x, y, lr, null);
                    LossResult b = captured.step(x, y, lr, graphs);
                    String at = mode + " step " + s + ": ";
                    assertEquals(Double.doubleToRawLongBits(a.loss()), Double.doubleToRawLongBits(b.loss()), at + "loss " + a + " vs " + b);
                    assertEquals(a.top1Correct(), b.top1Correct(), at + "top-1");
                    assertArrayEquals(values(plain.net.parameters().values()), values(captured.net.parameters().values()), at + "weights");
                    assertArrayEquals(values(plain.momentum), values(captured.momentum), at + "momentum");
                    assertArrayEquals(values(plain.net.parameters().runningStats()), values(captured.net.parameters().runningStats()),
                            at + "running statistics");
                    assertArrayEquals(values(plain.net.parameters().grads()), values(captured.net.parameters().grads()), at + "gradients");
                    assertEquals(batchesTracked(plain.net), batchesTracked(captured.net), at + "num_batches_tracked");
                }
                assertEquals(1, graphs.captures(), mode + ": captured once, after one warm-up step");
                assertEquals(STEPS - 1, graphs.replays(), mode + ": every step after the warm-up replayed");
                assertEquals("", notes.toString(StandardCharsets.UTF_8), mode + ": nothing to say when capture works");
            }
        }
    }

    /**
     * The loss scaler's state lives on the device, so replays scale, check, skip and update it as
     * uncaptured steps do: a NaN pixel in step 3's batch (uploaded outside the graph) makes every
     * gradient NaN, and the replayed step must be skipped and back the scale off; a growth interval
     * of 2 grows it within the run.
     */
    @Test
    void lossScaledStepsReplayTheirSkipsAndScaleChangesBitForBit() {
        LossScaling rule = new LossScaling(1024, 2, 0.5, 2);
        try (Run plain = new Run(BC, MemoryMode.SHARED, rule); Run captured = new Run(BC, MemoryMode.SHARED, rule);
             CapturedSteps graphs = new CapturedSteps(gpu, System.err)) {
            Random rng = new Random(13);
            for (int s = 0; s < 6; s++) {
                float[] x = randomImages(rng);
                if (s == 3) x[17] = Float.NaN;
                int[] y = randomLabels(rng, BC.numClasses());
                float[] before = values(captured.net.parameters().values());
                plain.step(x, y, 0.1, null);
                captured.step(x, y, 0.1, graphs);
                String at = "step " + s + ": ";
                assertArrayEquals(values(plain.scaler), values(captured.scaler), at + "scaler state");
                assertArrayEquals(values(plain.net.parameters().values()), values(captured.net.parameters().values()), at + "weights");
                assertArrayEquals(values(plain.momentum), values(captured.momentum), at + "momentum");
                if (s == 3) assertArrayEquals(before, values(captured.net.parameters().values()), "the overflowed step is skipped");
            }
            // steps 0, 1 clean (grown to 2048), 2 clean, 3 skipped (1024), 4, 5 clean (grown to 2048)
            assertArrayEquals(new float[] {2048, 0, 0, 1f / 1024, 1}, values(captured.scaler));
            assertEquals(5, graphs.replays(), "steps 1 to 5 replayed");
        }
    }

    /**
     * FP16 training with 16-bit activations and the loss scaler, captured: the 16-bit copy of the
     * weights is made and the 16-bit weight-gradient scratch grown during the warm-up step, so the
     * capture allocates nothing, and the SGD kernel inside the graph keeps the copy current: replays
     * equal the steps run op by op bit for bit, every step after the first replayed, nothing said.
     */
    @Test
    void sixteenBitStepsAreCapturedAndReplayBitForBit() {
        CudaBackend half = GpuParity.openGpu(org.densenet.engine.Precision.FP16);
        GpuParity.assumeGpu(half);
        ByteArrayOutputStream notes = new ByteArrayOutputStream();
        try (half; Run plain = new Run(half, BC, MemoryMode.SHARED, LossScaling.DEFAULT);
             Run captured = new Run(half, BC, MemoryMode.SHARED, LossScaling.DEFAULT);
             CapturedSteps graphs = new CapturedSteps(half, new PrintStream(notes, true, StandardCharsets.UTF_8))) {
            assertEquals(DType.F16, plain.net.activationDType());
            Random rng = new Random(16);
            for (int s = 0; s < 4; s++) {
                float[] x = randomImages(rng);
                int[] y = randomLabels(rng, BC.numClasses());
                double lr = s < 2 ? 0.1 : 0.02;
                LossResult a = plain.step(x, y, lr, null);
                LossResult b = captured.step(x, y, lr, graphs);
                String at = "fp16 step " + s + ": ";
                assertEquals(Double.doubleToRawLongBits(a.loss()), Double.doubleToRawLongBits(b.loss()), at + "loss");
                assertArrayEquals(values(plain.net.parameters().values()), values(captured.net.parameters().values()), at + "weights");
                assertArrayEquals(values(plain.momentum), values(captured.momentum), at + "momentum");
                assertArrayEquals(values(plain.scaler), values(captured.scaler), at + "scaler state");
            }
            assertEquals(1, graphs.captures(), "captured once, after one warm-up step");
            assertEquals(3, graphs.replays(), "every step after the warm-up replayed");
            assertEquals("", notes.toString(StandardCharsets.UTF_8), "nothing to say when capture works");
        }
    }

    /**
     * Dropout reads its seeds from device memory the host writes before each step, so a replayed
     * step draws that step's masks: equal bit for bit to the steps run op by op, in both memory modes
     * (shared recomputes the masks in backward from the same seeds).
     */
    @Test
    void dropoutStepsAreCapturedAndReplayEachStepsMasks() {
        DenseNetConfig dropout = DenseNetConfig.cifar(10, 4, false, 1.0, 0.2, 10);
        for (MemoryMode mode : MemoryMode.values()) {
            ByteArrayOutputStream notes = new ByteArrayOutputStream();
            try (Run plain = new Run(dropout, mode); Run captured = new Run(dropout, mode);
                 CapturedSteps graphs = new CapturedSteps(gpu, new PrintStream(notes, true, StandardCharsets.UTF_8))) {
                Random rng = new Random(5);
                float[] x = randomImages(rng);
                int[] y = randomLabels(rng, dropout.numClasses());
                double previous = Double.NaN;
                for (int s = 0; s < 4; s++) {
                    // the same batch every step at a zero rate: the weights stay put, so only the masks tell the steps apart
                    LossResult a = plain.step(x, y, 0.0, null);
                    LossResult b = captured.step(x, y, 0.0, graphs);
                    String at = mode + " step " + s + ": ";
                    assertEquals(Double.doubleToRawLongBits(a.loss()), Double.doubleToRawLongBits(b.loss()), at + "loss " + a + " vs " + b);
                    assertArrayEquals(values(plain.net.parameters().grads()), values(captured.net.parameters().grads()), at + "gradients");
                    assertArrayEquals(values(plain.net.parameters().values()), values(captured.net.parameters().values()), at + "weights");
                    assertTrue(b.loss() != previous, at + "a new mask each step changes the loss of the same batch: " + b.loss());
                    previous = b.loss();
                }
                assertEquals(1, graphs.captures(), mode + ": captured once, after one warm-up step");
                assertEquals(3, graphs.replays(), mode + ": steps 1 to 3 replayed");
                assertEquals("", notes.toString(StandardCharsets.UTF_8), mode + ": nothing to say when capture works");
            }
        }
    }

    @Test
    void aGraphWhoseMemoryWasGivenBackIsCapturedAgainAndStillAgrees() {
        try (Run plain = new Run(BC, MemoryMode.SHARED); Run captured = new Run(BC, MemoryMode.SHARED);
             CapturedSteps graphs = new CapturedSteps(gpu, System.err)) {
            Random rng = new Random(9);
            for (int s = 0; s < 6; s++) {
                if (s == 3) captured.net.releaseActivations();   // as a batch of another shape does: the activations are made again
                float[] x = randomImages(rng);
                int[] y = randomLabels(rng, BC.numClasses());
                LossResult a = plain.step(x, y, 0.1, null);
                LossResult b = captured.step(x, y, 0.1, graphs);
                assertNotNull(b);
                assertEquals(Double.doubleToRawLongBits(a.loss()), Double.doubleToRawLongBits(b.loss()), "step " + s);
            }
            assertArrayEquals(values(plain.net.parameters().values()), values(captured.net.parameters().values()));
            assertEquals(2, graphs.captures(), "captured at step 1, and again at step 4 after a warm-up step on the new activations");
            assertEquals(4, graphs.replays(), "steps 1, 2, 4 and 5 replayed; 0 and 3 warmed up");
        }
    }

    /** Every BN's num_batches_tracked, which the host counts: a replayed step must count as one that ran. */
    private static java.util.Map<String, Long> batchesTracked(DenseNet net) {
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        net.parameters().stateDict().forEach((k, v) -> {
            if (k.endsWith("num_batches_tracked")) out.put(k, v.toLongArray()[0]);
        });
        return out;
    }

    private static float[] randomImages(Random rng) {
        float[] x = new float[BATCH * 3 * SIZE * SIZE];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }

    private static int[] randomLabels(Random rng, int classes) {
        int[] y = new int[BATCH];
        for (int i = 0; i < BATCH; i++) y[i] = rng.nextInt(classes);
        return y;
    }

    private static float[] values(Tensor t) {
        float[] v = new float[Math.toIntExact(t.numel())];
        t.backend().download(t, v);
        return v;
    }
}
