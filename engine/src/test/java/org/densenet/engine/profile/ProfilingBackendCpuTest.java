package org.densenet.engine.profile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/** Through the profiler, the CPU backend computes bit for bit what it computes directly, and every call is timed. */
class ProfilingBackendCpuTest {
    private final SplittableRandom rng = new SplittableRandom(42);

    private Tensor random(CpuBackend cpu, int... shape) {
        Tensor t = cpu.allocate(DType.F32, shape);
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
        cpu.upload(v, t);
        return t;
    }

    private static float[] read(CpuBackend cpu, Tensor t) {
        float[] v = new float[(int) t.numel()];
        cpu.download(t, v);
        return v;
    }

    private static void poison(CpuBackend cpu, Tensor... ts) {
        for (Tensor t : ts) cpu.fill(t, Float.NaN);
    }

    @Test
    void resultsAreIdenticalWithAndWithoutTheProfiler() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            ProfilingBackend prof = new ProfilingBackend(cpu);
            prof.setRecording(true);
            Tensor x = random(cpu, 4, 6, 8, 8), w = random(cpu, 5, 6, 3, 3);
            Tensor y1 = cpu.allocate(DType.F32, 4, 5, 8, 8), y2 = cpu.allocate(DType.F32, 4, 5, 8, 8);
            poison(cpu, y1, y2);
            cpu.convForward(x, w, y1, new Conv2d(1, 1), false);
            prof.convForward(x, w, y2, new Conv2d(1, 1), false);
            assertArrayEquals(read(cpu, y1), read(cpu, y2));

            Tensor mean = cpu.allocate(DType.F32, 5), var = cpu.allocate(DType.F32, 5);
            Tensor gamma = random(cpu, 5), beta = random(cpu, 5), dy = random(cpu, 4, 5, 8, 8);
            prof.batchNormStatistics(y2, mean, var);
            Tensor dx1 = cpu.allocate(DType.F32, 4, 5, 8, 8), dx2 = cpu.allocate(DType.F32, 4, 5, 8, 8);
            Tensor dg1 = cpu.allocate(DType.F32, 5), dg2 = cpu.allocate(DType.F32, 5);
            Tensor db1 = cpu.allocate(DType.F32, 5), db2 = cpu.allocate(DType.F32, 5);
            poison(cpu, dx1, dx2, dg1, dg2, db1, db2);
            cpu.batchNormBackward(y2, dy, mean, var, gamma, beta, 1e-5, true, dx1, false, dg1, db1);
            prof.batchNormBackward(y2, dy, mean, var, gamma, beta, 1e-5, true, dx2, false, dg2, db2);
            assertArrayEquals(read(cpu, dx1), read(cpu, dx2));
            assertArrayEquals(read(cpu, dg1), read(cpu, dg2));
            assertArrayEquals(read(cpu, db1), read(cpu, db2));

            Tensor logits = random(cpu, 8, 10), labels = cpu.allocate(DType.I32, 8);
            cpu.upload(new int[] {0, 3, 9, 1, 1, 7, 5, 2}, labels);
            Tensor g1 = cpu.allocate(DType.F32, 8, 10), g2 = cpu.allocate(DType.F32, 8, 10);
            poison(cpu, g1, g2);
            LossResult r1 = cpu.softmaxCrossEntropy(logits, labels, g1);
            LossResult r2 = prof.softmaxCrossEntropy(logits, labels, g2);
            assertEquals(r1, r2);
            assertArrayEquals(read(cpu, g1), read(cpu, g2));

            Tensor p1 = random(cpu, 300), grads = random(cpu, 300), m1 = random(cpu, 300);
            Tensor p2 = cpu.allocate(DType.F32, 300), m2 = cpu.allocate(DType.F32, 300);
            cpu.copy(p1, p2, false);
            cpu.copy(m1, m2, false);
            SgdParams sgd = new SgdParams(0.1, 0.9, 1e-4, true);
            cpu.sgdStep(p1, grads, m1, sgd);
            prof.sgdStep(p2, grads, m2, sgd);
            assertArrayEquals(read(cpu, p1), read(cpu, p2));
            assertArrayEquals(read(cpu, m1), read(cpu, m2));

            List<OpSample> samples = prof.collect();
            assertEquals(List.of("conv_fwd", "bn_stats", "bn_relu_bwd", "softmax_xent", "sgd"), samples.stream().map(OpSample::op).toList());
            for (OpSample s : samples) assertTrue(s.nanos() > 0, s + " was timed");
            assertEquals(OpCosts.convForward(x.shape(), w.shape(), y2.shape(), 4, false), samples.getFirst().cost());
        }
    }
}
