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
 * The shared dense block's activation memory grows linearly with depth, the naive one's
 * quadratically, and the planner predicts both. Depths 40, 64, 88, 112 are equally spaced, so the
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
            assertTrue(r.sharedMeasured() < r.naiveMeasured(), "depth " + r.depth() + ": shared must use less than naive");
            assertEquals(r.naivePredicted(), r.naiveMeasured(), 0.1 * r.naiveMeasured(), "depth " + r.depth() + ": naive prediction");
            assertEquals(r.sharedPredicted(), r.sharedMeasured(), 0.1 * r.sharedMeasured(), "depth " + r.depth() + ": shared prediction");
        }
        double[] shared = rows.stream().mapToDouble(Row::sharedMeasured).toArray();
        double[] naive = rows.stream().mapToDouble(Row::naiveMeasured).toArray();
        for (int i = 0; i + 2 < shared.length; i++) {
            double sharedFirst = shared[i + 1] - shared[i], sharedSecond = shared[i + 2] - 2 * shared[i + 1] + shared[i];
            double naiveFirst = naive[i + 1] - naive[i], naiveSecond = naive[i + 2] - 2 * naive[i + 1] + naive[i];
            assertTrue(sharedFirst > 0 && Math.abs(sharedSecond) < 0.02 * sharedFirst,
                    "shared: second difference " + sharedSecond + " vs first " + sharedFirst + " is not linear growth");
            assertTrue(naiveSecond > 0.2 * naiveFirst, "naive: second difference " + naiveSecond + " vs first " + naiveFirst
                    + " shows no quadratic growth");
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

    /** Peak bytes a training step adds to the model's own buffers, measured and predicted, per mode. */
    private record Row(int depth, long naiveMeasured, long naivePredicted, long sharedMeasured, long sharedPredicted) {
    }

    private static List<Row> sweep(Backend backend, int... depths) {
        List<Row> rows = new ArrayList<>();
        for (int depth : depths) {
            DenseNetConfig c = DenseNetConfig.cifar(depth, GROWTH, true, 0.5, 0, 10);
            rows.add(new Row(depth, measure(backend, c, MemoryMode.NAIVE, BATCH, IMAGE), predict(c, MemoryMode.NAIVE),
                    measure(backend, c, MemoryMode.SHARED, BATCH, IMAGE), predict(c, MemoryMode.SHARED)));
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
