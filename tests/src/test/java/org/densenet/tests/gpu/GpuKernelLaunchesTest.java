package org.densenet.tests.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.densenet.engine.Tensor;
import org.densenet.engine.profile.OpSample;
import org.densenet.engine.profile.ProfilingBackend;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.tests.gpu.GpuParity.Twin;
import org.junit.jupiter.api.Test;

/**
 * The launches a training step's batch-norm ops cost on the CUDA backend, per op as `bench ops`
 * counts them: the fused kernels stay fused (a regression shows here before any GPU run), and the
 * per-op counts add up to the backend's own count. In every memory mode, since each calls the
 * batch-norm ops its own way.
 */
class GpuKernelLaunchesTest extends GpuParityTestBase {
    /** Kernels per call of each batch-norm op, and of the other ops a DenseNet-BC step makes. */
    private static final Map<String, Integer> PER_CALL = Map.ofEntries(
            Map.entry("bn_stats", 2),                  // chunked sums, finish
            Map.entry("bn_relu_train", 1),             // apply, running statistics
            Map.entry("bn_stats+bn_relu_train", 2),    // chunked sums; finish, apply, running statistics
            Map.entry("bn_relu_apply", 1),
            Map.entry("bn_relu_bwd", 2),               // chunked sums; finish, dx, dgamma, dbeta
            Map.entry("copy_add", 1), Map.entry("avgpool_fwd", 1), Map.entry("avgpool_bwd", 1), Map.entry("gap_fwd", 1),
            Map.entry("gap_bwd", 1), Map.entry("softmax_xent", 1));

    @Test
    void everyTrainingStepOpLaunchesTheKernelsItsFusionPromises() {
        DenseNetConfig bc = DenseNetConfig.cifar(16, 4, true, 0.5, 0.0, 10);
        ProfilingBackend prof = new ProfilingBackend(gpu);   // not closed: that would close the shared backend
        for (MemoryMode mode : MemoryMode.values()) {
            Random rng = new Random(mode.ordinal());
            try (DenseNet net = new DenseNet(bc, prof, mode, 11);
                 Twin x = Twin.random(cpu, gpu, rng, 4, 3, 16, 16);
                 Twin labels = Twin.ints(cpu, gpu, new int[] {1, 7, 3, 0}, 4);
                 Twin dLogits = Twin.poisoned(cpu, gpu, 4, 10)) {
                long before = gpu.kernelLaunches();
                prof.setRecording(true);
                Tensor logits = net.forward(x.gpu(), true);
                prof.softmaxCrossEntropy(logits, labels.gpu(), dLogits.gpu());
                net.backward(dLogits.gpu());
                prof.setRecording(false);
                List<OpSample> ops = prof.collect();
                long launched = gpu.kernelLaunches() - before;
                Map<String, Integer> seen = new TreeMap<>();
                long sum = 0;
                for (OpSample s : ops) {
                    sum += s.kernels();
                    if (s.op().startsWith("conv_") || s.op().startsWith("linear_") || s.op().equals("copy") || s.op().equals("fill")) {
                        assertEquals(0, s.kernels(), mode + ": " + s.op() + " runs in cuDNN, cuBLAS or a driver copy");
                        continue;
                    }
                    Integer expected = PER_CALL.get(s.op());
                    assertTrue(expected != null, mode + ": an op this test does not know: " + s.op());
                    assertEquals(expected, s.kernels(), mode + ": kernels of " + s.op() + " " + s.shapes());
                    seen.merge(s.op(), 1, Integer::sum);
                }
                assertEquals(launched, sum, mode + ": the ops' counts add up to the backend's");
                assertTrue(seen.containsKey("bn_stats+bn_relu_train") && seen.containsKey("bn_relu_bwd"), mode + ": " + seen);
                if (mode == MemoryMode.SHARED) assertTrue(seen.containsKey("bn_relu_train") && seen.containsKey("bn_relu_apply"), mode + ": " + seen);
            }
        }
    }
}
