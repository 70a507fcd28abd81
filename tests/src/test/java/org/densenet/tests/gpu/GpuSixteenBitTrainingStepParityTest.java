package org.densenet.tests.gpu;

import static org.densenet.tests.gpu.GpuParity.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import java.util.stream.Stream;

import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.Precision;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Stem;
import org.densenet.tests.gpu.GpuParity.Twin;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Three training steps of tiny DenseNets on the GPU in BF16 and FP16 (16-bit activations, float32
 * weights, gradients, statistics and optimizer) against the CPU twin in the same precision, from the
 * same weights and batches. The model asks the backend for its activation type, so the GPU's
 * activations are really 16-bit tensors and the twin's float32 tensors rounded alike. The op-level
 * tests (GpuSixteenBitOpsParityTest, KernelParitySixteenBitGpuTest) hold each op to the twin within
 * one 16-bit unit in the last place; a whole network cannot be held so: a convolution or reduction
 * sums in another order on the two sides, a value a hair from a rounding boundary rounds the other
 * way now and then, and where that moves a batch-norm output across zero the recomputed ReLU mask
 * keeps or drops a whole gradient term, which tiny networks carry far (in FP16 such flips are eight
 * times as frequent as in BF16). So: the first step's logits element by element within a few 16-bit
 * units ({@link #rtol}), and for every step's logits, loss, gradients, weights after SGD and running
 * statistics, the GPU must be as close to a float32 run of the same steps (the CPU backend in FP32)
 * as the twin is, within four times the twin's distance, measured as the relative L2 distance over the
 * whole tensor; or within {@link #L2_AGREE} of the twin itself. A GPU that stored activations in
 * the wrong type or layout, read stale 16-bit weights or skipped a rounding would land far from both
 * (one whose SGD step left the 16-bit weights stale failed most cases). Six cases, every memory mode
 * and network in at least one precision, to keep the emulated run short.
 */
@Tag("gpu")
class GpuSixteenBitTrainingStepParityTest {
    private static final SgdParams SGD = new SgdParams(0.1, 0.9, 1e-4, true);
    /** Relative L2 distance to the twin below which two results count as the same whatever the float32 run says. */
    static final double L2_AGREE = 1e-3;

    static Stream<Arguments> cases() {
        DenseNetConfig bc = DenseNetConfig.cifar(16, 4, true, 0.5, 0.0, 10);
        DenseNetConfig plain = DenseNetConfig.cifar(10, 6, false, 1.0, 0.2, 10);
        DenseNetConfig imagenet = new DenseNetConfig(new int[] {2, 1}, 4, 4, 0.5, 0.0, Stem.IMAGENET, 8, 7, 3);
        return Stream.of(
                Arguments.of(Precision.BF16, "densenet-bc-16-4", bc, MemoryMode.SHARED, 4, 16),
                Arguments.of(Precision.BF16, "densenet-bc-16-4", bc, MemoryMode.RECOMPUTE, 4, 16),
                Arguments.of(Precision.BF16, "imagenet-stem", imagenet, MemoryMode.NAIVE, 2, 32),
                Arguments.of(Precision.FP16, "densenet-bc-16-4", bc, MemoryMode.NAIVE, 4, 16),
                Arguments.of(Precision.FP16, "densenet-10-6 dropout", plain, MemoryMode.SHARED, 3, 12),
                Arguments.of(Precision.FP16, "imagenet-stem", imagenet, MemoryMode.RECOMPUTE, 2, 32));
    }

    /** A few units in the 16-bit format's last place, relative to the tensor's scale. */
    static double rtol(Precision p) {
        return p == Precision.BF16 ? 4e-2 : 6e-3;
    }

    @ParameterizedTest(name = "{0} {1} {3}")
    @MethodSource("cases")
    void threeTrainingStepsAgreeWithTheTwin(Precision p, String name, DenseNetConfig config, MemoryMode mode, int batch, int size) {
        CudaBackend gpu = GpuParity.openGpu(p);
        GpuParity.assumeGpu(gpu);
        Random rng = new Random(name.hashCode() * 31L + mode.ordinal() + p.ordinal());
        int classes = config.numClasses();
        int params = Math.toIntExact(config.parameterCount());
        try (gpu; CpuBackend cpu = new CpuBackend(2, p); CpuBackend fp32 = new CpuBackend(2);
             DenseNet c = new DenseNet(config, cpu, mode, 11); DenseNet g = new DenseNet(config, gpu, mode, 11);
             DenseNet f = new DenseNet(config, fp32, mode, 11);
             Twin dLogits = Twin.poisoned(cpu, gpu, batch, classes); Twin momentum = Twin.poisoned(cpu, gpu, params);
             Tensor dLogits32 = fp32.allocate(DType.F32, batch, classes); Tensor momentum32 = fp32.allocate(DType.F32, params);
             Tensor labels32 = fp32.allocate(DType.I32, batch); Tensor x32 = fp32.allocate(DType.F32, batch, config.inChannels(), size, size)) {
            assertEquals(DType.activations(p), g.activationDType(), "the model stores the GPU's activations in 16 bits");
            assertEquals(DType.F32, c.activationDType(), "the twin keeps float32 tensors");
            cpu.fill(momentum.cpu(), 0);
            gpu.fill(momentum.gpu(), 0);
            fp32.fill(momentum32, 0);
            assertClose(name + ": initial weights", values(c.parameters().values()), values(g.parameters().values()), 0, 0);
            for (int step = 0; step < 3; step++) {
                String at = p + " " + name + " " + mode + " step " + step + ": ";
                int[] labels = new int[batch];
                for (int i = 0; i < batch; i++) labels[i] = rng.nextInt(classes);
                try (Twin x = Twin.random(cpu, gpu, rng, batch, config.inChannels(), size, size); Twin y = Twin.ints(cpu, gpu, labels, batch)) {
                    fp32.upload(x.cpuValues(), x32);
                    fp32.upload(labels, labels32);
                    Tensor lc = c.forward(x.cpu(), true), lg = g.forward(x.gpu(), true), lf = f.forward(x32, true);
                    if (step == 0) assertClose(at + "logits", values(lc), values(lg), rtol(p), 0.1);
                    asCloseAsTheTwin(at + "logits", values(lf), values(lc), values(lg));
                    LossResult rc = cpu.softmaxCrossEntropy(lc, y.cpu(), dLogits.cpu());
                    LossResult rg = gpu.softmaxCrossEntropy(lg, y.gpu(), dLogits.gpu());
                    LossResult rf = fp32.softmaxCrossEntropy(lf, labels32, dLogits32);
                    asCloseAsTheTwin(at + "loss", new float[] {(float) rf.loss()}, new float[] {(float) rc.loss()}, new float[] {(float) rg.loss()});
                    c.backward(dLogits.cpu());
                    g.backward(dLogits.gpu());
                    f.backward(dLogits32);
                    asCloseAsTheTwin(at + "gradients", values(f.parameters().grads()), values(c.parameters().grads()), values(g.parameters().grads()));
                    cpu.sgdStep(c.parameters().values(), c.parameters().grads(), momentum.cpu(), SGD);
                    gpu.sgdStep(g.parameters().values(), g.parameters().grads(), momentum.gpu(), SGD);
                    fp32.sgdStep(f.parameters().values(), f.parameters().grads(), momentum32, SGD);
                    asCloseAsTheTwin(at + "weights after SGD", values(f.parameters().values()), values(c.parameters().values()),
                            values(g.parameters().values()));
                    asCloseAsTheTwin(at + "running statistics", values(f.parameters().runningStats()), values(c.parameters().runningStats()),
                            values(g.parameters().runningStats()));
                }
            }
            try (Twin x = Twin.random(cpu, gpu, rng, batch, config.inChannels(), size, size)) {
                fp32.upload(x.cpuValues(), x32);
                asCloseAsTheTwin(p + " " + name + " " + mode + ": eval logits", values(f.forward(x32, false)), values(c.forward(x.cpu(), false)),
                        values(g.forward(x.gpu(), false)));
            }
        }
    }

    /** The GPU within {@link #L2_AGREE} of the twin, or no further from the float32 run than four times the twin is (relative L2 distances). */
    private static void asCloseAsTheTwin(String what, float[] fp32, float[] twin, float[] gpu) {
        double toTwin = l2(gpu, twin), twinToFp32 = l2(twin, fp32), gpuToFp32 = l2(gpu, fp32);
        if (toTwin <= L2_AGREE || gpuToFp32 <= 4 * twinToFp32) return;
        fail(String.format("%s: relative L2 distance %.3g from the twin, and %.3g from the float32 run, more than four times the twin's %.3g",
                what, toTwin, gpuToFp32, twinToFp32));
    }

    /** ||a - b|| / ||b||. */
    private static double l2(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) b[i] * b[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    private static float[] values(Tensor t) {
        Backend b = t.backend();
        float[] v = new float[Math.toIntExact(t.numel())];
        b.download(t, v);
        return v;
    }
}
