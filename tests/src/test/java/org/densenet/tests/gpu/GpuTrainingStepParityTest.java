package org.densenet.tests.gpu;

import static org.densenet.tests.gpu.GpuParity.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Param;
import org.densenet.model.Stem;
import org.densenet.tests.gpu.GpuParity.Twin;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Three training steps of tiny DenseNets on the GPU and on the CPU, from the same weights and
 * batches, in every memory mode: logits, loss, accuracy counts, every gradient, the weights and
 * running statistics after each SGD step, and eval logits at the end. Whole networks compound
 * float32 differences through batch norm, so the tolerance is 1e-3 relative (scale-floored).
 * Gradients and weights are also judged against a float64 CPU run of the same steps: a value that
 * float32 cannot pin down to 1e-3 (a batch-norm weight's gradient that is a sum cancelling to a
 * millionth of its terms, say) passes when the GPU is no further from the float64 value than a
 * few times the CPU's own float32 error, so the test asks the GPU to be as accurate as the CPU.
 */
@Tag("gpu")
class GpuTrainingStepParityTest extends GpuParityTestBase {
    private static final double RTOL = 1e-3;
    private static final SgdParams SGD = new SgdParams(0.1, 0.9, 1e-4, true);

    static Stream<Arguments> cases() {
        DenseNetConfig bc = DenseNetConfig.cifar(16, 4, true, 0.5, 0.0, 10);           // 2 bottleneck layers per block
        DenseNetConfig plain = DenseNetConfig.cifar(10, 6, false, 1.0, 0.2, 10);       // dropout masks must agree too
        DenseNetConfig imagenet = new DenseNetConfig(new int[] {2, 1}, 4, 4, 0.5, 0.0, Stem.IMAGENET, 8, 7, 3);
        return Stream.of(MemoryMode.values()).flatMap(mode -> Stream.of(
                Arguments.of("densenet-bc-16-4", bc, mode, 4, 16),
                Arguments.of("densenet-10-6 dropout", plain, mode, 3, 12),
                Arguments.of("imagenet-stem", imagenet, mode, 2, 32)));
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("cases")
    void threeTrainingStepsAgree(String name, DenseNetConfig config, MemoryMode mode, int batch, int size) {
        Random rng = new Random(name.hashCode() * 31L + mode.ordinal());
        int classes = config.numClasses();
        int params = Math.toIntExact(config.parameterCount());
        try (DenseNet c = new DenseNet(config, cpu, mode, 11); DenseNet g = new DenseNet(config, gpu, mode, 11);
             DenseNet d = new DenseNet(config, cpu, mode, 11, DType.F64);
             Twin dLogits = Twin.poisoned(cpu, gpu, batch, classes); Twin momentum = Twin.poisoned(cpu, gpu, params);
             Tensor dLogits64 = cpu.allocate(DType.F64, batch, classes); Tensor momentum64 = cpu.allocate(DType.F64, params)) {
            cpu.fill(momentum.cpu(), 0);
            gpu.fill(momentum.gpu(), 0);
            cpu.fill(momentum64, 0);
            float[] initial = values(c.parameters().values());
            assertClose(name + ": initial weights", initial, values(g.parameters().values()), 0, 0);
            cpu.upload(toDouble(initial), d.parameters().values());
            for (int step = 0; step < 3; step++) {
                String at = name + " " + mode + " step " + step + ": ";
                int[] labels = new int[batch];
                for (int i = 0; i < batch; i++) labels[i] = rng.nextInt(classes);
                try (Twin x = Twin.random(cpu, gpu, rng, batch, config.inChannels(), size, size);
                     Twin y = Twin.ints(cpu, gpu, labels, batch);
                     Tensor x64 = cpu.allocate(DType.F64, batch, config.inChannels(), size, size)) {
                    cpu.upload(toDouble(x.cpuValues()), x64);
                    Tensor lc = c.forward(x.cpu(), true);
                    Tensor lg = g.forward(x.gpu(), true);
                    Tensor ld = d.forward(x64, true);
                    assertClose(at + "logits", values(lc), values(lg), RTOL, 0.1);
                    LossResult rc = cpu.softmaxCrossEntropy(lc, y.cpu(), dLogits.cpu());
                    LossResult rg = gpu.softmaxCrossEntropy(lg, y.gpu(), dLogits.gpu());
                    cpu.softmaxCrossEntropy(ld, y.cpu(), dLogits64);
                    assertEquals(rc.loss(), rg.loss(), RTOL * Math.abs(rc.loss()), at + "loss");
                    assertEquals(rc.top1Correct(), rg.top1Correct(), at + "top-1");
                    c.backward(dLogits.cpu());
                    g.backward(dLogits.gpu());
                    d.backward(dLogits64);
                    perParameter(at + "gradient of ", c, values(c.parameters().grads()), values(g.parameters().grads()),
                            doubles(d.parameters().grads()));
                    cpu.sgdStep(c.parameters().values(), c.parameters().grads(), momentum.cpu(), SGD);
                    gpu.sgdStep(g.parameters().values(), g.parameters().grads(), momentum.gpu(), SGD);
                    cpu.sgdStep(d.parameters().values(), d.parameters().grads(), momentum64, SGD);
                    perParameter(at + "after SGD, ", c, values(c.parameters().values()), values(g.parameters().values()),
                            doubles(d.parameters().values()));
                    assertClose(at + "running statistics", values(c.parameters().runningStats()),
                            values(g.parameters().runningStats()), RTOL, 0.1);
                }
            }
            try (Twin x = Twin.random(cpu, gpu, rng, batch, config.inChannels(), size, size)) {
                assertClose(name + " " + mode + ": eval logits", values(c.forward(x.cpu(), false)), values(g.forward(x.gpu(), false)), RTOL, 0.1);
            }
        }
    }

    /**
     * Each parameter (or its gradient) against its own scale, as {@link GpuParity#assertClose}; where
     * that fails, the element still passes when the GPU's distance from the float64 value is at most
     * four times the largest distance of the CPU's float32 value from it within the same parameter.
     */
    private static void perParameter(String what, DenseNet net, float[] expected, float[] actual, double[] exact) {
        for (Param p : net.parameters().list()) {
            int from = Math.toIntExact(p.offset()), to = from + Math.toIntExact(p.numel());
            float[] e = Arrays.copyOfRange(expected, from, to), a = Arrays.copyOfRange(actual, from, to);
            double cpuError = 0;
            for (int i = from; i < to; i++) cpuError = Math.max(cpuError, Math.abs(expected[i] - exact[i]));
            float[] judged = a.clone();
            for (int i = 0; i < judged.length; i++) {
                if (Math.abs(a[i] - exact[from + i]) <= 4 * cpuError) judged[i] = e[i];   // as accurate as the CPU's float32
            }
            assertClose(what + p.name() + " (CPU float32 error vs float64 here: " + (float) cpuError + ")", e, judged, RTOL, 0.1);
        }
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    private static double[] doubles(Tensor t) {
        double[] v = new double[Math.toIntExact(t.numel())];
        t.backend().download(t, v);
        return v;
    }

    private static float[] values(Tensor t) {
        if (t.dtype() != DType.F32) throw new IllegalArgumentException("expected a float32 tensor, got " + t);
        Backend b = t.backend();
        float[] v = new float[Math.toIntExact(t.numel())];
        b.download(t, v);
        return v;
    }
}
