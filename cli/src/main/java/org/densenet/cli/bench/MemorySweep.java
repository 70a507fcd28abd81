package org.densenet.cli.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.MemoryPlanner;
import org.densenet.train.plot.LineChart;

/**
 * {@code densenet bench memory}: peak training memory against depth in both memory modes, the
 * figure of Pleiss et al. (arXiv 1707.06990): the naive dense block's memory grows with the
 * square of depth (each layer keeps its own concatenated input and BN output), the shared one's
 * linearly. Each point is a fresh model and the allocator's peak over {@link #STEPS} training
 * steps, counted from before the model is built: weights, gradients, momentum, one input batch,
 * activations and workspaces.
 */
public final class MemorySweep {
    static final int STEPS = 2;

    /**
     * @param peakBytes      allocator peak, counted from before the model is built
     * @param activationBytes the part of the peak above what was live once the model, optimiser state and inputs were set up
     * @param predicted      the model's own prediction ({@link MemoryPlanner}), which leaves out the input batch and labels
     */
    public record Point(int depth, MemoryMode mode, long parameters, long peakBytes, long activationBytes, MemoryPlanner.Plan predicted) {
    }

    /**
     * @param bottleneck densenet-bc (bottleneck layers, compression 0.5) when true, plain densenet otherwise
     */
    public static List<Point> run(Backend backend, boolean bottleneck, int growth, int[] depths, int batch, int imageSize, long seed) {
        List<Point> points = new ArrayList<>();
        for (int depth : depths) {
            DenseNetConfig config = DenseNetConfig.cifar(depth, growth, bottleneck, bottleneck ? 0.5 : 1.0, 0.0, 10);
            for (MemoryMode mode : MemoryMode.values()) {
                backend.synchronize();
                backend.resetPeakMemory();
                long base = backend.memoryStats().liveBytes();
                try (TrainingStep step = new TrainingStep(backend, config, mode, batch, imageSize, 1, seed)) {
                    backend.synchronize();
                    long setUp = backend.memoryStats().liveBytes();
                    for (int i = 0; i < STEPS; i++) step.train();
                    step.lastLoss();
                    backend.synchronize();
                    long peak = backend.memoryStats().peakBytes();
                    MemoryPlanner.Plan plan = MemoryPlanner.plan(config, mode, DType.F32, batch, imageSize, imageSize, true);
                    points.add(new Point(depth, mode, config.parameterCount(), peak - base, peak - setUp, plan));
                }
            }
        }
        return points;
    }

    public static Report report(List<Point> points, String family, int growth, int batch, int imageSize, RunInfo info) {
        Report report = new Report(info, "bench memory: " + family + ", growth " + growth + ", batch " + batch + ", " + imageSize + "x"
                + imageSize + " images; peak over " + STEPS + " training steps from before the model is built");
        report.note("activations", "peak minus what was live after set-up",
                "act: the peak above what was live once weights, gradients, momentum and inputs were set up; predicted: MemoryPlanner");
        Table t = new Table(List.of(
                new Table.Column("depth", "depth", "%d"),
                new Table.Column("parameters", "params", "%d"),
                new Table.Column("naive_peak_bytes", null, "%d"),
                new Table.Column("shared_peak_bytes", null, "%d"),
                new Table.Column("naive_peak_mib", "naive MiB", "%.1f"),
                new Table.Column("shared_peak_mib", "shared MiB", "%.1f"),
                new Table.Column("shared_over_naive", "shared/naive", "%.3f"),
                new Table.Column("naive_activation_bytes", null, "%d"),
                new Table.Column("shared_activation_bytes", null, "%d"),
                new Table.Column("naive_activation_mib", "act naive", "%.2f"),
                new Table.Column("shared_activation_mib", "act shared", "%.2f"),
                new Table.Column("naive_predicted_activation_mib", "pred naive", "%.2f"),
                new Table.Column("shared_predicted_activation_mib", "pred shared", "%.2f"),
                new Table.Column("naive_predicted_total_bytes", null, "%d"),
                new Table.Column("shared_predicted_total_bytes", null, "%d")));
        for (int i = 0; i + 1 < points.size(); i += 2) {
            Point naive = points.get(i), shared = points.get(i + 1);
            if (naive.mode() != MemoryMode.NAIVE || shared.mode() != MemoryMode.SHARED || naive.depth() != shared.depth()) {
                throw new IllegalArgumentException("points must come in (naive, shared) pairs per depth");
            }
            t.add(naive.depth(), naive.parameters(), naive.peakBytes(), shared.peakBytes(), mib(naive.peakBytes()), mib(shared.peakBytes()),
                    shared.peakBytes() / (double) naive.peakBytes(), naive.activationBytes(), shared.activationBytes(),
                    mib(naive.activationBytes()), mib(shared.activationBytes()),
                    mib(naive.predicted().activationBytes()), mib(shared.predicted().activationBytes()),
                    naive.predicted().totalBytes(), shared.predicted().totalBytes());
        }
        report.table("memory", t);
        return report;
    }

    public static void plot(Path png, List<Point> points, String family, int growth, int batch, int imageSize) throws IOException {
        List<LineChart.Series> series = new ArrayList<>();
        for (MemoryMode mode : MemoryMode.values()) {
            List<Point> ps = points.stream().filter(p -> p.mode() == mode).toList();
            double[] x = new double[ps.size()], y = new double[ps.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = ps.get(i).depth();
                y[i] = mib(ps.get(i).peakBytes());
            }
            series.add(mode == MemoryMode.NAIVE
                    ? new LineChart.Series("naive (concatenation and BN output per layer)", LineChart.RED, x, y)
                    : new LineChart.Series("shared (one storage per block, recomputed BN)", LineChart.BLUE, x, y));
        }
        String title = String.format(Locale.ROOT, "Peak training memory, %s (k=%d), batch %d, %dx%d", family, growth, batch, imageSize, imageSize);
        LineChart.write(png, 800, 520, List.of(new LineChart.Panel(title, "depth", "peak memory (MiB)", LineChart.Scale.FROM_ZERO, series)));
    }

    private static double mib(long bytes) {
        return bytes / (double) (1 << 20);
    }
}
