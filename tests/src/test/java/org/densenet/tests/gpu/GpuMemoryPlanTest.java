package org.densenet.tests.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;

import org.densenet.engine.DType;
import org.densenet.engine.Precision;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.MemoryPlanner;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The memory plan the pre-run check reads ({@link MemoryPlanner#requireFits}) against what a GPU
 * training step really holds at its peak, in float32 and with 16-bit activations: the model's
 * weights (and their 16-bit copy), gradients, momentum, statistics and the step's activations, from
 * before the model is built, less what the backend still holds for itself after the model is closed
 * (cuDNN's workspace, sized by its algorithm search). The planner counts 16-bit activations at two bytes, so a BF16 step
 * whose plan said float32 sizes would be refused at batches that fit; this holds it to within 10%
 * of the measured peak in each precision, as MemorySweepTest does for float32 on the CPU.
 */
@Tag("gpu")
class GpuMemoryPlanTest {
    private static final SgdParams SGD = new SgdParams(0.1, 0.9, 1e-4, true);

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(Precision.FP32, MemoryMode.SHARED),
                Arguments.of(Precision.BF16, MemoryMode.NAIVE),
                Arguments.of(Precision.FP16, MemoryMode.RECOMPUTE));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void aTrainingStepsPeakIsWhatThePlanSays(Precision p, MemoryMode mode) {
        DenseNetConfig config = DenseNetConfig.cifar(16, 8, true, 0.5, 0.0, 10);
        int batch = 8, size = 16;
        CudaBackend gpu = GpuParity.openGpu(p);
        GpuParity.assumeGpu(gpu);
        try (gpu; Tensor x = gpu.allocate(DType.F32, batch, config.inChannels(), size, size); Tensor y = gpu.allocate(DType.I32, batch);
             Tensor dLogits = gpu.allocate(DType.F32, batch, config.numClasses())) {
            float[] pixels = new float[Math.toIntExact(x.numel())];
            for (int i = 0; i < pixels.length; i++) pixels[i] = (float) Math.sin(i * 0.37);
            gpu.upload(pixels, x);
            int[] labels = new int[batch];
            for (int i = 0; i < batch; i++) labels[i] = i % config.numClasses();
            gpu.upload(labels, y);
            gpu.synchronize();
            long before = gpu.memoryStats().liveBytes();
            long peak;
            DType activations;
            try (DenseNet net = new DenseNet(config, gpu, mode, 3);
                 Tensor momentum = gpu.allocate(DType.F32, Math.toIntExact(config.parameterCount()))) {
                activations = net.activationDType();
                gpu.fill(momentum, 0);
                // the second step's peak: the first one's algorithm search may hold copies of what it tries on
                for (int step = 0; step < 2; step++) {
                    gpu.synchronize();
                    if (step == 1) gpu.resetPeakMemory();
                    Tensor logits = net.forward(x, true);
                    gpu.softmaxCrossEntropy(logits, y, dLogits);
                    net.backward(dLogits);
                    gpu.sgdStep(net.parameters().values(), net.parameters().grads(), momentum, SGD);
                }
                gpu.synchronize();
                peak = gpu.memoryStats().peakBytes() - before;
            }
            // What the backend keeps for itself once the model is gone (cuDNN's workspace, which the search sizes on a GPU and
            // the plan does not predict, and small buffers of its own) is not the model's.
            gpu.synchronize();
            long backendOwn = gpu.memoryStats().liveBytes() - before;
            assertEquals(p == Precision.FP32 ? DType.F32 : DType.activations(p), activations, "the model's activation type");
            MemoryPlanner.Plan plan = MemoryPlanner.plan(config, mode, DType.F32, activations, batch, size, size, true);
            long model = peak - backendOwn;
            assertEquals(plan.totalBytes(), model, 0.1 * model, p + " " + mode + ": planned " + plan + " against a measured peak of " + peak
                    + " bytes, " + backendOwn + " of them the backend's own");
            if (p != Precision.FP32) {
                MemoryPlanner.Plan wide = MemoryPlanner.plan(config, mode, DType.F32, batch, size, size, true);
                assertTrue(plan.activationBytes() < 0.6 * wide.activationBytes(), "16-bit activations take about half: " + plan + " vs " + wide);
            }
        }
    }
}
