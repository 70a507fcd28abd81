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
 * {@code densenet bench memory}: peak training memory against depth in each memory mode, the
 * figure of Pleiss et al. (arXiv 1707.06990): the naive dense block's memory grows with the
 * square of depth (each layer keeps its own concatenated input and BN output), the shared ones'
 * linearly (recompute, which also recomputes bottleneck outputs, is measured for bottleneck
 * networks only: without bottleneck layers it is shared). Each point is a fresh model and the
 * allocator's peak over {@link #STEPS} training steps after a first, untimed one, counted from
 * before the model is built: weights, gradients, momentum, one input batch, activations and
 * workspaces. The first step is left out because on a GPU it runs cuDNN's algorithm search, whose
 * scratch memory (borrowed for the search, sized to what is free) is no part of training's needs.
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
     * The points measured, one per depth and mode; {@code stopped} says why the sweep ended before
     * the last depth (a depth whose training step would not fit on the device in some mode), or is
     * null when every depth was measured.
     */
    public record Sweep(List<Point> points, String stopped) {
        public Sweep {
            points = List.copyOf(points);
        }
    }

    /**
     * Each depth's modes are checked against the device's memory before any is measured; the first
     * depth that does not fit ends the sweep (the larger ones would not fit either), and when not
     * even the first depth fits that is an error ({@link MemoryPlanner.NotEnoughMemoryException}).
     *
     * @param bottleneck densenet-bc (bottleneck layers, compression 0.5) when true, plain densenet otherwise
     */
    public static Sweep run(Backend backend, boolean bottleneck, int growth, int[] depths, int batch, int imageSize, long seed) {
        List<Point> points = new ArrayList<>();
        for (int depth : depths) {
            DenseNetConfig config = DenseNetConfig.cifar(depth, growth, bottleneck, bottleneck ? 0.5 : 1.0, 0.0, 10);
            List<Workload> work = new ArrayList<>();
            try {
                for (MemoryMode mode : MemoryMode.distinctFor(config)) {
                    Workload w = new Workload(config.name(), config, mode, batch, imageSize, 0, STEPS, 1, seed);
                    w.requireFits(backend);
                    work.add(w);
                }
            } catch (MemoryPlanner.NotEnoughMemoryException e) {
                if (points.isEmpty()) throw e;
                return new Sweep(points, "depth " + depth + " and beyond not measured: " + e.getMessage());
            }
            for (Workload w : work) {
                MemoryMode mode = w.mode();
                backend.synchronize();
                backend.resetPeakMemory();
                long base = backend.memoryStats().liveBytes();
                try (TrainingStep step = new TrainingStep(backend, config, mode, batch, imageSize, 1, seed)) {
                    backend.synchronize();
                    long setUp = backend.memoryStats().liveBytes();
                    StepBench.warmUp(backend, 1, step::train);
                    for (int i = 0; i < STEPS; i++) step.train();
                    step.lastLoss();
                    backend.synchronize();
                    long peak = backend.memoryStats().peakBytes();
                    MemoryPlanner.Plan plan = MemoryPlanner.plan(config, mode, DType.F32, backend.activationDType(), batch, imageSize, imageSize, true);
                    points.add(new Point(depth, mode, config.parameterCount(), peak - base, peak - setUp, plan));
                }
            }
        }
        return new Sweep(points, null);
    }

    public static Report report(Sweep sweep, String family, int growth, int batch, int imageSize, RunInfo info) {
        List<Point> points = sweep.points();
        Report report = new Report(info, "bench memory: " + family + ", growth " + growth + ", batch " + batch + ", " + imageSize + "x"
                + imageSize + " images; peak over " + STEPS + " training steps after a first one, from before the model is built");
        if (sweep.stopped() != null) report.note("stopped", sweep.stopped(), "stopped: " + sweep.stopped());
        report.note("activations", "peak minus what was live after set-up",
                "act: the peak above what was live once weights, gradients, momentum and inputs were set up; predicted: MemoryPlanner");
        List<MemoryMode> modes = points.stream().map(Point::mode).distinct().toList();
        if (modes.isEmpty() || modes.getFirst() != MemoryMode.NAIVE) throw new IllegalArgumentException("the sweep starts with naive points");
        List<Table.Column> columns = new ArrayList<>(List.of(new Table.Column("depth", "depth", "%d"),
                new Table.Column("parameters", "params", "%d")));
        for (MemoryMode m : modes) columns.add(new Table.Column(m.label() + "_peak_bytes", null, "%d"));
        for (MemoryMode m : modes) columns.add(new Table.Column(m.label() + "_peak_mib", m.label() + " MiB", "%.1f"));
        for (MemoryMode m : modes.subList(1, modes.size())) {
            columns.add(new Table.Column(m.label() + "_over_naive", m.label() + "/naive", "%.3f"));
        }
        for (MemoryMode m : modes) columns.add(new Table.Column(m.label() + "_activation_bytes", null, "%d"));
        for (MemoryMode m : modes) columns.add(new Table.Column(m.label() + "_activation_mib", "act " + m.label(), "%.2f"));
        for (MemoryMode m : modes) columns.add(new Table.Column(m.label() + "_predicted_activation_mib", "pred " + m.label(), "%.2f"));
        for (MemoryMode m : modes) columns.add(new Table.Column(m.label() + "_predicted_total_bytes", null, "%d"));
        Table t = new Table(columns);
        for (int i = 0; i < points.size(); i += modes.size()) {
            if (i + modes.size() > points.size()) throw new IllegalArgumentException("points must come in one group of " + modes + " per depth");
            List<Point> g = points.subList(i, i + modes.size());
            for (int j = 0; j < g.size(); j++) {
                if (g.get(j).mode() != modes.get(j) || g.get(j).depth() != g.getFirst().depth()) {
                    throw new IllegalArgumentException("points must come in one group of " + modes + " per depth");
                }
            }
            List<Object> row = new ArrayList<>(List.of(g.getFirst().depth(), g.getFirst().parameters()));
            for (Point p : g) row.add(p.peakBytes());
            for (Point p : g) row.add(mib(p.peakBytes()));
            for (Point p : g.subList(1, g.size())) row.add(p.peakBytes() / (double) g.getFirst().peakBytes());
            for (Point p : g) row.add(p.activationBytes());
            for (Point p : g) row.add(mib(p.activationBytes()));
            for (Point p : g) row.add(mib(p.predicted().activationBytes()));
            for (Point p : g) row.add(p.predicted().totalBytes());
            t.add(row.toArray());
        }
        report.table("memory", t);
        return report;
    }

    public static void plot(Path png, List<Point> points, String family, int growth, int batch, int imageSize) throws IOException {
        List<LineChart.Series> series = new ArrayList<>();
        for (MemoryMode mode : points.stream().map(Point::mode).distinct().toList()) {
            List<Point> ps = points.stream().filter(p -> p.mode() == mode).toList();
            double[] x = new double[ps.size()], y = new double[ps.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = ps.get(i).depth();
                y[i] = mib(ps.get(i).peakBytes());
            }
            series.add(switch (mode) {
                case NAIVE -> new LineChart.Series("naive (concatenation and BN output per layer)", LineChart.RED, x, y);
                case SHARED -> new LineChart.Series("shared (one storage per block, recomputed BN)", LineChart.BLUE, x, y);
                case RECOMPUTE -> new LineChart.Series("recompute (shared, recomputed bottleneck too)", LineChart.GREEN, x, y);
            });
        }
        String title = String.format(Locale.ROOT, "Peak training memory, %s (k=%d), batch %d, %dx%d", family, growth, batch, imageSize, imageSize);
        LineChart.write(png, 800, 520, List.of(new LineChart.Panel(title, "depth", "peak memory (MiB)", LineChart.Scale.FROM_ZERO, series)));
    }

    private static double mib(long bytes) {
        return bytes / (double) (1 << 20);
    }
}
