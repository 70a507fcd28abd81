package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/**
 * What backward tells a data-parallel step about its gradients: falling offsets, ending at 0, and
 * after each one every gradient from it on already holds its final value (the buffer is poisoned
 * with NaN first, so a gradient written later would show).
 */
class GradientsReadyTest {
    @Test
    void everyReportedOffsetHasItsFinalGradientsFromItOnInEveryMemoryMode() {
        for (MemoryMode mode : MemoryMode.values()) {
            for (DenseNetConfig config : List.of(ModelTesting.tinyBc(), ModelTesting.tinyImagenet())) {
                check(config, mode, config == ModelTesting.tinyBc() ? 16 : 32);
            }
        }
    }

    private static void check(DenseNetConfig config, MemoryMode mode, int size) {
        String what = config + " " + mode + ": ";
        try (CpuBackend cpu = new CpuBackend(2); DenseNet net = new DenseNet(config, cpu, mode, 7, DType.F64);
             Tensor x = ModelTesting.randomImages(cpu, DType.F64, 3, 2, config.inChannels(), size, size);
             Tensor y = ModelTesting.randomLabels(cpu, 4, 2, config.numClasses());
             Tensor dLogits = cpu.allocate(DType.F64, 2, config.numClasses())) {
            Tensor grads = net.parameters().grads();
            cpu.fill(grads, Double.NaN);
            cpu.softmaxCrossEntropy(net.forward(x, true), y, dLogits);
            List<Long> offsets = new ArrayList<>();
            List<double[]> seen = new ArrayList<>();
            net.backward(dLogits, from -> {
                offsets.add(from);
                seen.add(ModelTesting.download(grads));
            });
            double[] last = ModelTesting.download(grads);
            assertEquals(0L, offsets.get(offsets.size() - 1), what + "the stem ends at offset 0");
            // head, each dense layer, each transition, the stem
            int layers = Arrays.stream(config.blockSizes()).sum();
            assertEquals(1 + layers + config.blockSizes().length - 1 + 1, offsets.size(), what + "one report per module");
            for (int i = 0; i < offsets.size(); i++) {
                int from = (int) (long) offsets.get(i);
                if (i > 0) assertTrue(from < offsets.get(i - 1), what + "offsets fall: " + offsets);
                assertArrayEquals(Arrays.copyOfRange(last, from, last.length), Arrays.copyOfRange(seen.get(i), from, last.length),
                        what + "gradients from " + from + " on are final when reported");
                if (from > 0) assertTrue(Double.isNaN(seen.get(i)[from - 1]), what + "the gradient just below " + from + " is not written yet");
            }
        }
    }
}
