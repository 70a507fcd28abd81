package org.densenet.cli.bench;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.densenet.engine.Backend;
import org.densenet.engine.OpTimer;
import org.densenet.model.MemoryMode;
import org.densenet.model.MemoryPlanner;

/**
 * {@code densenet bench step}: whole steps per second and images per second, for an inference
 * forward and for a training step (forward, loss, backward, update), with the peak memory of
 * each, in one or more memory modes. Columns and their keys follow scripts/bench/pytorch_step.py
 * (median_ms, min_ms, p10_ms, p90_ms, max_ms, host_median_ms, images_per_s, peak_memory_bytes), so
 * the two can be read side by side. host_median_ms is the host's time to issue a step (wall time
 * less waits for the device): on a GPU, when it nears median_ms the host sets the pace.
 *
 * <p>Peak memory is what the backend's allocator held at most over the timed steps, counted from
 * before the model is built (weights, gradients, momentum, inputs, activations, workspaces), as
 * the PyTorch peer counts its own: the warm-up steps, and with them the first step's cuDNN
 * algorithm search and its borrowed scratch memory, are left out. For inference, the training
 * activations are released first and the peak is taken over the inference forwards alone, on
 * top of what stays allocated.
 */
public final class StepBench {
    static final String FRAMEWORK = "densenet-java";

    private StepBench() {
    }

    public static Report run(Backend backend, Workload w, List<MemoryMode> modes, RunInfo info) {
        return run(backend, w, modes, info, List.of());
    }

    /** As {@link #run(Backend, Workload, List, RunInfo)}, with the PyTorch peer's results ({@link PeerBench}) appended as rows. */
    public static Report run(Backend backend, Workload w, List<MemoryMode> modes, RunInfo info, List<Map<String, Object>> peer) {
        Report report = new Report(info, "bench step: " + w.modelName() + ", " + modesText(modes) + " memory, " + w.describe());
        Table t = new Table(List.of(
                new Table.Column("framework", "framework", null),
                new Table.Column("model", "model", null),
                new Table.Column("mode", "mode", null),
                new Table.Column("phase", "phase", null),
                new Table.Column("batch", "batch", "%d"),
                new Table.Column("median_ms", "ms", "%.3f"),
                new Table.Column("min_ms", "min", "%.3f"),
                new Table.Column("p10_ms", "p10", "%.3f"),
                new Table.Column("p90_ms", "p90", "%.3f"),
                new Table.Column("max_ms", "max", "%.3f"),
                new Table.Column("host_median_ms", "host ms", "%.3f"),
                new Table.Column("steps_per_s", "steps/s", "%.2f"),
                new Table.Column("images_per_s", "img/s", "%.1f"),
                new Table.Column("peak_memory_bytes", null, "%d"),
                new Table.Column("peak_memory_mib", "peak MiB", "%.1f")));
        for (MemoryMode mode : modes) {
            Workload wm = w.withMode(mode);
            backend.synchronize();
            backend.resetPeakMemory();
            long base = backend.memoryStats().liveBytes();
            Stats.Timed train, infer;
            long trainPeak, inferPeak;
            TrainingStep opened;
            try {
                opened = wm.open(backend);
            } catch (MemoryPlanner.NotEnoughMemoryException e) {
                // one mode that does not fit leaves the others to compare; a single one is an error
                if (modes.size() == 1 || (mode == modes.getLast() && t.size() == 0)) throw e;
                report.note("skipped_" + mode.label(), e.getMessage(), mode.label() + " skipped: " + e.getMessage());
                continue;
            }
            long replayed;
            // With CUDA graphs each rotated input batch is captured on its second run: warm up until all are, so no capture is timed.
            int warmup = backend.capturesGraphs() ? Math.max(w.warmup(), 2 * w.batches()) : w.warmup();
            try (TrainingStep step = opened; OpTimer timer = backend.newTimer()) {
                train = timedAfterWarmup(backend, timer, warmup, w.repeats(), step::train);
                step.lastLoss();
                trainPeak = backend.memoryStats().peakBytes() - base;
                step.net().releaseActivations();
                infer = timedAfterWarmup(backend, timer, warmup, w.repeats(), step::inference);
                inferPeak = backend.memoryStats().peakBytes() - base;
                replayed = step.replayedSteps();
            }
            String m = mode.label();
            if (backend.capturesGraphs()) {
                long steps = 2L * (warmup + w.repeats());
                report.note("cuda_graph_replays_" + m, replayed, String.format(java.util.Locale.ROOT,
                        "%s: %d of %d steps (warm-up included) replayed a captured CUDA graph", m, replayed, steps));
            }
            addRow(t, w, m, "forward (inference)", infer, inferPeak);
            addRow(t, w, m, "train step", train, trainPeak);
        }
        for (Map<String, Object> r : peer) {
            if (r.get(PeerBench.SKIPPED) != null) {
                report.note("peer_skipped_" + r.get("mode"), String.valueOf(r.get(PeerBench.SKIPPED)),
                        r.get("framework") + " " + r.get("mode") + " skipped: " + r.get(PeerBench.SKIPPED));
                continue;
            }
            double median = number(r, "median_ms");
            long peak = (long) number(r, "peak_memory_bytes");
            t.add(String.valueOf(r.get("framework")), w.modelName(), String.valueOf(r.get("mode")), "train step", w.batch(), median,
                    number(r, "min_ms"), number(r, "p10_ms"), number(r, "p90_ms"), number(r, "max_ms"), optional(r, "host_median_ms"), 1e3 / median,
                    number(r, "images_per_s"), peak, peak / (double) (1 << 20));
            report.note("peer_memory_" + r.get("mode"), String.valueOf(r.get("peak_memory_method")),
                    "peak memory of " + r.get("framework") + " " + r.get("mode") + ": " + r.get("peak_memory_method"));
        }
        report.table("steps", t);
        return report;
    }

    /** The warm-up runs, then the timed repeats, with the peak memory that of the timed steps ({@link #warmUp}). */
    static Stats.Timed timedAfterWarmup(Backend backend, OpTimer timer, int warmup, int repeats, Runnable op) {
        warmUp(backend, warmup, op);
        return Stats.timedWithHost(timer, backend::waitedNanos, 0, repeats, op);
    }

    /**
     * Runs {@code op} {@code steps} times, then resets the peak: what is measured next leaves out
     * the first steps' one-off allocations (cuDNN's algorithm search borrows scratch memory while
     * it times algorithms), as the PyTorch peer leaves out its own.
     */
    static void warmUp(Backend backend, int steps, Runnable op) {
        for (int i = 0; i < steps; i++) op.run();
        backend.synchronize();
        backend.resetPeakMemory();
    }

    private static void addRow(Table t, Workload w, String mode, String phase, Stats.Timed timed, long peak) {
        Stats s = timed.device();
        t.add(FRAMEWORK, w.modelName(), mode, phase, w.batch(), s.median() / 1e6, s.min() / 1e6, s.p10() / 1e6, s.p90() / 1e6, s.max() / 1e6,
                timed.host().median() / 1e6, 1e9 / s.median(), w.batch() * 1e9 / s.median(), peak, peak / (double) (1 << 20));
    }

    /** A number the peer may leave out (older peer scripts have no host time): null, shown as "-". */
    private static Double optional(Map<String, Object> r, String key) {
        return r.get(key) instanceof Number n ? n.doubleValue() : null;
    }

    private static double number(Map<String, Object> r, String key) {
        if (!(r.get(key) instanceof Number n)) throw new IllegalStateException("the PyTorch peer's result has no number '" + key + "': " + r);
        return n.doubleValue();
    }

    private static String modesText(List<MemoryMode> modes) {
        List<String> names = modes.stream().map(MemoryMode::label).toList();
        return names.size() < 2 ? String.join("", names)
                : String.join(", ", names.subList(0, names.size() - 1)) + " and " + names.getLast();
    }
}
