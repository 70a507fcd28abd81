package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/**
 * The shared dense blocks' activation memory grows linearly with depth (recompute below shared),
 * the naive one's quadratically, and the planner predicts every mode. Depths 40, 64, 88, 112 are equally spaced, so the
 * second difference of the peaks is the quadratic term: 2 * a * 24^2 for peak = a*d^2 + b*d + c.
 * {@code densenet bench memory} measures the same at full size (docs/MEMORY.md).
 */
class MemorySweepTest {
    private static final int GROWTH = 12;
    private static final int BATCH = 2;
    private static final int IMAGE = 8;

    @Test
    void sharedGrowsLinearlyNaiveQuadraticallyAndThePlannerPredictsBoth() {
        List<Row> rows;
        try (CpuBackend cpu = new CpuBackend(2)) {
            rows = sweep(cpu, 40, 64, 88, 112);
        }
        for (Row r : rows) {
            assertTrue(r.measured(MemoryMode.SHARED) < r.measured(MemoryMode.NAIVE), "depth " + r.depth() + ": shared must use less than naive");
            assertTrue(r.measured(MemoryMode.RECOMPUTE) < 0.75 * r.measured(MemoryMode.SHARED),
                    "depth " + r.depth() + ": recompute must save at least a quarter of shared, " + r);
            for (MemoryMode m : MemoryMode.values()) {
                assertEquals(r.predicted(m), r.measured(m), 0.1 * r.measured(m), "depth " + r.depth() + ": " + m + " prediction");
            }
        }
        for (MemoryMode m : MemoryMode.values()) {
            double[] peak = rows.stream().mapToDouble(r -> r.measured(m)).toArray();
            for (int i = 0; i + 2 < peak.length; i++) {
                double first = peak[i + 1] - peak[i], second = peak[i + 2] - 2 * peak[i + 1] + peak[i];
                if (m == MemoryMode.NAIVE) {
                    assertTrue(second > 0.2 * first, "naive: second difference " + second + " vs first " + first + " shows no quadratic growth");
                } else {
                    assertTrue(first > 0 && Math.abs(second) < 0.02 * first,
                            m + ": second difference " + second + " vs first " + first + " is not linear growth");
                }
            }
        }
    }

    @Test
    void plannerCountsTheImagenetStemDropoutAndInference() {
        DenseNetConfig c = ModelTesting.tinyImagenet();
        try (CpuBackend cpu = new CpuBackend(2)) {
            for (MemoryMode mode : MemoryMode.values()) {
                long measured = measure(cpu, c, mode, 2, 32);
                long predicted = MemoryPlanner.plan(c, mode, DType.F32, 2, 32, 32, true).activationBytes();
                assertEquals(predicted, measured, 0.1 * measured, mode + " training step of " + c);
                measured = measureInference(cpu, c, mode, 2, 32);
                predicted = MemoryPlanner.plan(c, mode, DType.F32, 2, 32, 32, false).activationBytes();
                assertEquals(predicted, measured, 0.1 * measured, mode + " inference of " + c);
            }
        }
        MemoryPlanner.Plan train = MemoryPlanner.plan(DenseNetConfig.preset("densenet121"), MemoryMode.SHARED, DType.F32, 64, 224, 224, true);
        MemoryPlanner.Plan infer = MemoryPlanner.plan(DenseNetConfig.preset("densenet121"), MemoryMode.SHARED, DType.F32, 64, 224, 224, false);
        assertEquals(7_978_856L * 4, train.parameterBytes());
        assertEquals(train.parameterBytes(), train.optimizerBytes());
        assertEquals(0, infer.optimizerBytes());
        // inference keeps no gradients and shares the bottleneck outputs: 39% of a training step here
        assertTrue(infer.activationBytes() < 0.45 * train.activationBytes(), infer + " vs " + train);
    }

    /** Peak bytes a training step adds to the model's own buffers, measured and predicted, by {@link MemoryMode} ordinal. */
    private record Row(int depth, long[] measuredBytes, long[] predictedBytes) {
        long measured(MemoryMode m) {
            return measuredBytes[m.ordinal()];
        }

        long predicted(MemoryMode m) {
            return predictedBytes[m.ordinal()];
        }

        @Override
        public String toString() {
            return "depth " + depth + " measured " + java.util.Arrays.toString(measuredBytes) + " predicted " + java.util.Arrays.toString(predictedBytes);
        }
    }

    private static List<Row> sweep(Backend backend, int... depths) {
        List<Row> rows = new ArrayList<>();
        for (int depth : depths) {
            DenseNetConfig c = DenseNetConfig.cifar(depth, GROWTH, true, 0.5, 0, 10);
            long[] measured = new long[MemoryMode.values().length], predicted = new long[measured.length];
            for (MemoryMode m : MemoryMode.values()) {
                measured[m.ordinal()] = measure(backend, c, m, BATCH, IMAGE);
                predicted[m.ordinal()] = predict(c, m);
            }
            rows.add(new Row(depth, measured, predicted));
        }
        return rows;
    }

    private static long predict(DenseNetConfig c, MemoryMode mode) {
        return MemoryPlanner.plan(c, mode, DType.F32, BATCH, IMAGE, IMAGE, true).activationBytes();
    }

    /** Peak allocator bytes during forward + loss + backward, above what was live before (model, batch, labels). */
    private static long measure(Backend backend, DenseNetConfig c, MemoryMode mode, int batch, int image) {
        try (DenseNet net = new DenseNet(c, backend, mode, 1);
             Tensor x = ModelTesting.randomImages(backend, DType.F32, 2, batch, c.inChannels(), image, image);
             Tensor y = ModelTesting.randomLabels(backend, 3, batch, c.numClasses());
             Tensor dLogits = backend.allocate(DType.F32, batch, c.numClasses())) {
            backend.synchronize();
            long before = backend.memoryStats().liveBytes();
            backend.resetPeakMemory();
            ModelTesting.trainStep(net, x, y, dLogits);
            backend.synchronize();
            return backend.memoryStats().peakBytes() - before;
        }
    }

    /** Peak allocator bytes of one inference forward, above what was live before. */
    private static long measureInference(Backend backend, DenseNetConfig c, MemoryMode mode, int batch, int image) {
        try (DenseNet net = new DenseNet(c, backend, mode, 1);
             Tensor x = ModelTesting.randomImages(backend, DType.F32, 2, batch, c.inChannels(), image, image)) {
            backend.synchronize();
            long before = backend.memoryStats().liveBytes();
            backend.resetPeakMemory();
            net.forward(x, false);
            backend.synchronize();
            return backend.memoryStats().peakBytes() - before;
        }
    }
}
