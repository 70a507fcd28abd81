package org.densenet.model;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;

/**
 * Measures the activation memory of one training step of DenseNet-BC (growth k) over a range of
 * depths in both memory modes, next to {@link MemoryPlanner}'s prediction. Prints a Markdown table
 * (docs/MEMORY.md). Run from the repository root after {@code ./mvnw -q -o -pl model -am test-compile}:
 * <pre>
 * java -cp engine/target/classes:model/target/classes:model/target/test-classes org.densenet.model.MemorySweep [batch] [image] [k] [depth...]
 * </pre>
 */
public final class MemorySweep {

    /** Peak bytes a training step adds to the model's own buffers, measured and predicted, per mode. */
    public record Row(int depth, long parameters, long naiveMeasured, long naivePredicted, long sharedMeasured, long sharedPredicted) {
    }

    private MemorySweep() {
    }

    public static List<Row> sweep(Backend backend, int growth, int batch, int image, int... depths) {
        List<Row> rows = new ArrayList<>();
        for (int depth : depths) {
            DenseNetConfig c = DenseNetConfig.cifar(depth, growth, true, 0.5, 0, 10);
            rows.add(new Row(depth, c.parameterCount(),
                    measure(backend, c, MemoryMode.NAIVE, batch, image), predict(c, MemoryMode.NAIVE, batch, image),
                    measure(backend, c, MemoryMode.SHARED, batch, image), predict(c, MemoryMode.SHARED, batch, image)));
        }
        return rows;
    }

    /** Peak allocator bytes during forward + loss + backward, above what was live before (model, batch, labels). */
    static long measure(Backend backend, DenseNetConfig c, MemoryMode mode, int batch, int image) {
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
    static long measureInference(Backend backend, DenseNetConfig c, MemoryMode mode, int batch, int image) {
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

    static long predict(DenseNetConfig c, MemoryMode mode, int batch, int image) {
        return MemoryPlanner.plan(c, mode, DType.F32, batch, image, image, true).activationBytes();
    }

    public static String table(List<Row> rows, int growth, int batch, int image) {
        StringBuilder s = new StringBuilder();
        s.append("DenseNet-BC, k = ").append(growth).append(", batch ").append(batch).append(", ").append(image).append("x").append(image)
                .append(" images, float32; activation memory of one training step (MiB)\n\n");
        s.append("| depth | parameters | naive measured | naive predicted | shared measured | shared predicted | naive / shared |\n");
        s.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Row r : rows) {
            s.append(String.format("| %d | %,d | %.2f | %.2f | %.2f | %.2f | %.2f |%n", r.depth, r.parameters, mib(r.naiveMeasured),
                    mib(r.naivePredicted), mib(r.sharedMeasured), mib(r.sharedPredicted), (double) r.naiveMeasured / r.sharedMeasured));
        }
        return s.toString();
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        int image = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int growth = args.length > 2 ? Integer.parseInt(args[2]) : 12;
        int[] depths = args.length > 3 ? new int[args.length - 3] : new int[]{40, 64, 88, 112, 136, 160};
        for (int i = 3; i < args.length; i++) depths[i - 3] = Integer.parseInt(args[i]);
        try (CpuBackend cpu = new CpuBackend()) {
            long t0 = System.nanoTime();
            List<Row> rows = sweep(cpu, growth, batch, image, depths);
            System.out.print(table(rows, growth, batch, image));
            System.out.printf("%nmeasured %s on %s, %d processors, in %.1f s%n", LocalDate.now(), cpu.name(),
                    Runtime.getRuntime().availableProcessors(), (System.nanoTime() - t0) / 1e9);
        }
    }
}
