package org.densenet.model;

import static org.densenet.model.ModelTesting.assertClose;
import static org.densenet.model.ModelTesting.assertStatesClose;
import static org.densenet.model.ModelTesting.download;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.densenet.engine.DType;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** NAIVE, SHARED and RECOMPUTE blocks are three memory layouts of one computation: every number out must agree. */
class MemoryModeEquivalenceTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private static final SgdParams SGD = new SgdParams(0.1, 0.9, 1e-4, true);

    @AfterAll
    static void close() {
        CPU.close();
    }

    @Test
    void bottleneckCifarNetAgreesInFloat64() {
        compare(ModelTesting.tinyBc(), DType.F64, 1e-11, 4, 16);
    }

    @Test
    void bottleneckCifarNetAgreesInFloat32() {
        compare(ModelTesting.tinyBc(), DType.F32, 2e-5, 4, 16);
    }

    @Test
    void plainLayersWithDropoutAgree() {
        compare(ModelTesting.tinyPlainWithDropout(), DType.F64, 1e-11, 3, 12);
        compare(ModelTesting.tinyPlainWithDropout(), DType.F32, 2e-5, 3, 12);
    }

    @Test
    void imagenetStemWithDropoutAgrees() {
        compare(ModelTesting.tinyImagenet(), DType.F64, 1e-11, 2, 32);
    }

    private static void compare(DenseNetConfig config, DType dtype, double tol, int batch, int size) {
        compare(config, MemoryMode.SHARED, dtype, tol, batch, size);
        compare(config, MemoryMode.RECOMPUTE, dtype, tol, batch, size);
    }

    /** Three training steps with SGD between them, comparing logits, loss and every gradient, then state and eval logits. */
    private static void compare(DenseNetConfig config, MemoryMode mode, DType dtype, double tol, int batch, int size) {
        try (DenseNet naive = new DenseNet(config, CPU, MemoryMode.NAIVE, 7, dtype);
             DenseNet shared = new DenseNet(config, CPU, mode, 7, dtype);
             Tensor dLogitsA = CPU.allocate(dtype, batch, config.numClasses());
             Tensor dLogitsB = CPU.allocate(dtype, batch, config.numClasses());
             Tensor momentumA = CPU.allocate(dtype, (int) config.parameterCount());
             Tensor momentumB = CPU.allocate(dtype, (int) config.parameterCount())) {
            assertStatesClose(naive.parameters().stateDict(), shared.parameters().stateDict(), 0);
            CPU.fill(momentumA, 0);
            CPU.fill(momentumB, 0);
            for (int step = 0; step < 3; step++) {
                String at = config + " " + mode + " " + dtype + " step " + step + ": ";
                try (Tensor x = ModelTesting.randomImages(CPU, dtype, 100 + step, batch, config.inChannels(), size, size);
                     Tensor y = ModelTesting.randomLabels(CPU, 200 + step, batch, config.numClasses())) {
                    ModelTesting.Step a = ModelTesting.trainStep(naive, x, y, dLogitsA);
                    ModelTesting.Step b = ModelTesting.trainStep(shared, x, y, dLogitsB);
                    assertClose(a.logits(), b.logits(), tol, at + "logits");
                    assertClose(new double[]{a.loss()}, new double[]{b.loss()}, tol, at + "loss");
                    double[] gA = download(naive.parameters().grads());
                    double[] gB = download(shared.parameters().grads());
                    for (Param p : naive.parameters().list()) {
                        int from = (int) p.offset(), to = (int) (p.offset() + p.numel());
                        assertClose(Arrays.copyOfRange(gA, from, to), Arrays.copyOfRange(gB, from, to), tol, at + "gradient of " + p.name());
                    }
                    CPU.sgdStep(naive.parameters().values(), naive.parameters().grads(), momentumA, SGD);
                    CPU.sgdStep(shared.parameters().values(), shared.parameters().grads(), momentumB, SGD);
                }
            }
            assertStatesClose(naive.parameters().stateDict(), shared.parameters().stateDict(), tol);
            assertEquals(3, naive.parameters().stateDict().get("features.denseblock1.denselayer1.norm1.num_batches_tracked").toLongArray()[0]);
            try (Tensor x = ModelTesting.randomImages(CPU, dtype, 300, batch, config.inChannels(), size, size)) {
                double[] evalA = download(naive.forward(x, false));
                double[] evalB = download(shared.forward(x, false));
                assertClose(evalA, evalB, tol, "eval logits");
            }
        }
    }
}
