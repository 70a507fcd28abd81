package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Backward against central differences of the loss, in float64, for networks with dropout (which
 * the PyTorch fixtures cannot cover: their masks come from another generator). Pinning the
 * training-step counter replays the same dropout masks in every forward.
 */
class GradientCheckTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private static final double H = 1e-6;

    @AfterAll
    static void close() {
        CPU.close();
    }

    @ParameterizedTest
    @EnumSource(MemoryMode.class)
    void plainLayersWithDropout(MemoryMode mode) {
        check(ModelTesting.tinyPlainWithDropout(), mode, 3, 8);
    }

    @ParameterizedTest
    @EnumSource(MemoryMode.class)
    void imagenetStemBottleneckAndDropout(MemoryMode mode) {
        check(ModelTesting.tinyImagenet(), mode, 2, 24);
    }

    private static void check(DenseNetConfig c, MemoryMode mode, int batch, int size) {
        try (DenseNet net = new DenseNet(c, CPU, mode, 4, DType.F64);
             Tensor x = ModelTesting.randomImages(CPU, DType.F64, 5, batch, c.inChannels(), size, size);
             Tensor y = ModelTesting.randomLabels(CPU, 6, batch, c.numClasses());
             Tensor dLogits = CPU.allocate(DType.F64, batch, c.numClasses())) {
            net.setTrainingStep(0);
            ModelTesting.trainStep(net, x, y, dLogits);
            double[] grads = ModelTesting.download(net.parameters().grads());
            double[] values = ModelTesting.download(net.parameters().values());
            double pinned = loss(net, x, y);
            assertEquals(pinned, loss(net, x, y), 0, "the pinned step replays the same masks");
            net.setTrainingStep(1);
            assertNotEquals(pinned, CPU.softmaxCrossEntropy(net.forward(x, true), y, null).loss(), "another step draws other masks");
            SplittableRandom rng = new SplittableRandom(8);
            int checked = 0;
            for (Param p : net.parameters().list()) {
                int i = (int) (p.offset() + rng.nextLong(p.numel()));
                double keep = values[i];
                values[i] = keep + H;
                ModelTesting.upload(CPU, values, net.parameters().values());
                double plus = loss(net, x, y);
                values[i] = keep - H;
                ModelTesting.upload(CPU, values, net.parameters().values());
                double minus = loss(net, x, y);
                values[i] = keep;
                double numeric = (plus - minus) / (2 * H);
                assertEquals(numeric, grads[i], 1e-7 + 1e-5 * Math.abs(numeric), mode + " d loss / d " + p.name() + "[" + (i - p.offset()) + "]");
                checked++;
            }
            ModelTesting.upload(CPU, values, net.parameters().values());
            assertTrue(checked > 20);
        }
    }

    private static double loss(DenseNet net, Tensor x, Tensor y) {
        net.setTrainingStep(0);
        return CPU.softmaxCrossEntropy(net.forward(x, true), y, null).loss();
    }
}
