package org.densenet.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.LossScaling;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.Precision;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Parameters;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Decoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FP16's loss scaler on the CPU twin: the scale grows after its interval of clean steps; a step
 * whose gradients hold an inf is skipped and backs the scale off; and a run stopped and resumed
 * from its checkpoint continues with the scaler's state, ending bit for bit where a straight run ends.
 */
class LossScalerTest {
    @TempDir
    Path dir;

    private static final DenseNetConfig TINY = DenseNetConfig.cifar(10, 4, false, 1, 0, 10);

    private static float[] values(CpuBackend b, Tensor t) {
        float[] v = new float[(int) t.numel()];
        b.download(t, v);
        return v;
    }

    @Test
    void theScaleDoublesAfterTheGrowthIntervalOfCleanChecks() {
        try (CpuBackend cpu = new CpuBackend(2, Precision.FP16); Tensor grads = cpu.allocate(DType.F32, 777);
             LossScaler scaler = new LossScaler(cpu, new LossScaling(1024, 2, 0.5, 4))) {
            float[] g = new float[777];
            Random rng = new Random(5);
            for (int i = 0; i < g.length; i++) g[i] = (float) rng.nextGaussian();
            cpu.upload(g, grads);
            for (int i = 1; i <= 3; i++) {
                scaler.checkGradients(grads);
                assertEquals(new LossScaler.Saved(1024, i, 0), scaler.read(), "after " + i + " clean checks");
            }
            scaler.checkGradients(grads);
            assertEquals(new LossScaler.Saved(2048, 0, 0), scaler.read(), "grown after the fourth");
            assertEquals("loss scale 2048, 0 steps skipped", scaler.read().describe());
        }
    }

    /**
     * One training step of a real network as the trainer runs it (forward, loss, scaled gradient,
     * backward, check, SGD), with an inf planted in one weight's gradient after backward.
     */
    @Test
    void anInfPlantedInAGradientSkipsTheStepAndBacksOffAndTheNextCleanStepUpdates() {
        SgdParams sgd = new SgdParams(0.1, 0.9, 1e-4, true);
        Random rng = new Random(11);
        try (CpuBackend cpu = new CpuBackend(2, Precision.FP16); DenseNet net = new DenseNet(TINY.withInChannels(3), cpu, MemoryMode.SHARED, 3);
             Tensor images = cpu.allocate(DType.F32, 4, 3, 8, 8); Tensor labels = cpu.allocate(DType.I32, 4);
             Tensor dLogits = cpu.allocate(DType.F32, 4, 10); Tensor lr = cpu.allocate(DType.F32, 1);
             LossScaler scaler = new LossScaler(cpu, new LossScaling(256, 2, 0.5, 2000))) {
            Parameters p = net.parameters();
            Tensor momentum = cpu.allocate(DType.F32, (int) p.values().numel());
            float[] x = new float[4 * 3 * 8 * 8];
            for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
            cpu.upload(x, images);
            cpu.upload(new int[] {1, 7, 3, 3}, labels);
            cpu.fill(lr, sgd.lr());
            float[] m0 = new float[(int) momentum.numel()];
            for (int i = 0; i < m0.length; i++) m0[i] = (float) (rng.nextGaussian() * 1e-3);
            cpu.upload(m0, momentum);
            for (int step = 0; step < 2; step++) {
                float[] before = values(cpu, p.values()), mBefore = values(cpu, momentum);
                net.setTrainingStep(step);
                cpu.softmaxCrossEntropy(net.forward(images, true), labels, dLogits);
                scaler.scaleLossGradient(dLogits);
                net.backward(dLogits);
                if (step == 0) {
                    float[] g = values(cpu, p.grads());
                    g[g.length / 3] = Float.POSITIVE_INFINITY;
                    cpu.upload(g, p.grads());
                }
                scaler.checkGradients(p.grads());
                cpu.sgdStep(p.values(), p.grads(), momentum, sgd, lr, scaler.state());
                net.completeTrainingStep(step);
                if (step == 0) {
                    assertArrayEquals(before, values(cpu, p.values()), "a skipped step leaves the weights");
                    assertArrayEquals(mBefore, values(cpu, momentum), "and the momentum");
                    assertEquals(new LossScaler.Saved(128, 0, 1), scaler.read());
                } else {
                    assertFalse(java.util.Arrays.equals(before, values(cpu, p.values())), "a clean step updates the weights");
                    assertEquals(new LossScaler.Saved(128, 1, 1), scaler.read());
                }
            }
            momentum.close();
        }
    }

    /**
     * A forward pass that overflows float16 on one batch gives a non-finite loss and gradients: the
     * scaler skips that step, one line says so, and the run goes on to its last step.
     */
    @Test
    void anFp16StepWhoseLossOverflowsIsSkippedAndTheRunGoesOn() throws IOException {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result r;
        try (CpuBackend cpu = new CpuBackend(2, Precision.FP16)) {
            Backend overflowing = overflowingLossAt(cpu, 2);
            r = new Trainer(config("overflow", 6), overflowing, new PrintStream(log, true, StandardCharsets.UTF_8), new AtomicBoolean(),
                    false, 1e9, 0).run(null);
        }
        String said = log.toString(StandardCharsets.UTF_8);
        assertEquals(Trainer.Outcome.MAX_STEPS, r.outcome(), r.message() + "\n" + said);
        assertTrue(said.contains("fp16: the loss of step 3 (epoch 1, batch 3) is NaN"), said);
        assertEquals(1, said.lines().filter(l -> l.startsWith("fp16: the loss of step")).count(), said);
        Map<String, String> meta = SafeTensors.readMetadata(dir.resolve("overflow/last.safetensors"));
        assertEquals("1", meta.get("scaler.skipped_steps"), "the poisoned step, and only it, was skipped: " + meta);
        assertEquals("6", meta.get("state.global_step"), meta.toString());
    }

    /** {@code inner}, except that the training loss of step {@code step} (counting from 0) is NaN, with NaN gradients, as an overflow gives. */
    private static Backend overflowingLossAt(Backend inner, int step) {
        int[] calls = {0};
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            Object result;
            try {
                result = m.invoke(inner, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (m.getName().equals("softmaxCrossEntropyAsync") && args[2] != null && calls[0]++ == step) {
                Tensor dlogits = (Tensor) args[2];
                inner.fill(dlogits, Double.NaN);
                LossResult real = ((PendingLoss) result).get();
                return PendingLoss.of(new LossResult(Double.NaN, real.count(), 0, 0));
            }
            return result;
        });
    }

    private TrainConfig config(String output, long maxSteps) {
        return new TrainConfig("tiny", TINY.withInChannels(3), MemoryMode.SHARED, DatasetKind.SYNTHETIC, null, false, true, 8, 8,
                LrSchedule.cosine(0.1, 1, 0), 0.9, 1e-4, true, 3, "cpu", 1, Decoding.DEFAULT, dir.resolve(output), maxSteps, "", Precision.FP16);
    }

    private Trainer.Result train(TrainConfig cfg, Checkpoint resume, LossScaling rule) throws IOException {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        try (CpuBackend cpu = new CpuBackend(2, Precision.FP16)) {
            return new Trainer(cfg, cpu, quiet, new AtomicBoolean(), false, 1e9, 0).lossScaling(rule).run(resume);
        }
    }

    /**
     * A start at 2^24 overflows float16's gradients, so the first steps are skipped and back off; a
     * growth interval of 3 then grows the scale again within the run. Stopped after 6 steps and
     * resumed, the run must end with the straight run's weights, momentum and scaler, bit for bit.
     */
    @Test
    void anFp16RunStoppedAndResumedEndsWithTheStraightRunsWeightsAndScaler() throws IOException {
        LossScaling rule = new LossScaling(0x1p24, 2, 0.5, 3);
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config("straight", 14), null, rule).outcome());
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config("split", 6), null, rule).outcome());
        Checkpoint stopped = Checkpoint.load(dir.resolve("split/last.safetensors"));
        assertNotNull(stopped.scaler(), "an fp16 checkpoint keeps its scaler");
        assertTrue(stopped.scaler().skippedSteps() > 0, "the first steps overflowed: " + stopped.scaler());
        assertEquals(Trainer.Outcome.MAX_STEPS, train(config("split", 14), stopped, rule).outcome());

        Checkpoint a = Checkpoint.load(dir.resolve("straight/last.safetensors")), b = Checkpoint.load(dir.resolve("split/last.safetensors"));
        assertEquals(14, b.state().globalStep());
        assertEquals(a.scaler(), b.scaler());
        LossScaler.Saved end = a.scaler();
        assertTrue(end.scale() * Math.pow(2, end.skippedSteps()) > 0x1p24, "the scale grew at least once: " + end);
        assertArrayEquals(a.momentum(), b.momentum());
        assertEquals(a.weights(), b.weights(), "every weight and running statistic, bit for bit");
        assertEquals(Precision.FP16, a.config().precision());
    }
}
