package org.densenet.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.densenet.engine.Backend;
import org.densenet.engine.OpTimer;
import org.densenet.engine.profile.OpCost;
import org.densenet.engine.profile.OpSample;
import org.densenet.engine.profile.ProfilingBackend;

/**
 * {@code densenet bench ops}: one training step broken down per op and scope. Each op's median
 * time over the repeats is set against its FLOPs and minimum bytes, and against the two measured
 * {@link Peaks}: the roofline fraction is max(FLOPs / peak FLOP/s, bytes / peak B/s) / time,
 * i.e. how close the op runs to the nearer of the two limits.
 *
 * <p>The same number of unprofiled steps is timed as well: "profiled step - unprofiled step" is
 * what the per-op timers cost, and "unprofiled step - sum of ops" is host work between ops.
 *
 * <p>A third set of steps times what issuing each op costs the host ({@link OpTimer#issue}: the
 * queue drained before each op, the host clock around the call). Their per-step sum set against
 * the device's step time says whether the host or the device limits a step: on a GPU the host
 * issues while the device computes, so the slower of the two sets the pace.
 */
public final class OpsBench {
    private OpsBench() {
    }

    /** Step times with and without the per-op timers, and the per-step sum of the op times, over the repeats (ns). */
    public record Totals(Stats unprofiledStep, Stats profiledStep, Stats opSum, Stats issueSum, int opsPerStep, long kernelsPerStep) {
    }

    public record Result(Report report, Totals totals) {
    }

    public static Result run(Backend backend, Workload w, boolean perCall, Peaks peaks, RunInfo info) {
        ProfilingBackend prof = new ProfilingBackend(backend);
        List<List<OpSample>> repeats = new ArrayList<>(), issueRepeats = new ArrayList<>();
        Stats profiled, unprofiled;
        try (TrainingStep step = w.open(prof); OpTimer stepTimer = backend.newTimer()) {
            for (int i = 0; i < w.warmup(); i++) {
                prof.setRecording(i % 2 == 0);
                step.train();
            }
            prof.collect();
            // profiled and unprofiled steps alternate, so that a change in machine load or clock
            // speed during the run falls on both alike
            long[] withTimers = new long[w.repeats()], without = new long[w.repeats()];
            for (int r = 0; r < w.repeats(); r++) {
                prof.setRecording(true);
                withTimers[r] = timeStep(stepTimer, step);
                repeats.add(prof.collect());
                prof.setRecording(false);
                without[r] = timeStep(stepTimer, step);
            }
            profiled = Stats.of(withTimers);
            unprofiled = Stats.of(without);
            prof.setIssueTiming(true);
            for (int r = 0; r < w.repeats(); r++) {
                prof.setRecording(true);
                step.train();
                issueRepeats.add(prof.collect());
            }
            prof.setRecording(false);
            step.lastLoss();
        }
        OpProfile profile = new OpProfile(repeats);
        OpProfile issue = new OpProfile(issueRepeats);
        profile.requireSameCalls(issue);
        Stats opSum = profile.total(), issueSum = issue.total();
        Totals totals = new Totals(unprofiled, profiled, opSum, issueSum, profile.callsPerStep(), profile.kernelsPerStep());

        Report report = new Report(info, "bench ops: " + w.modelName() + ", " + w.mode().label() + " memory, " + w.describe());
        peaks.addNotes(report);
        report.note("step_ms", unprofiled.medianMillis(), "step: " + unprofiled.describeMillis() + ", without per-op timers");
        report.note("profiled_step_ms", profiled.medianMillis(), "profiled step: " + profiled.describeMillis() + ", with a timer around every op");
        report.note("op_sum_ms", opSum.medianMillis(), String.format(Locale.ROOT, "sum of op times: %.3f ms median over %d ops per step (%.1f%% of the step without timers)",
                opSum.medianMillis(), profile.callsPerStep(), 100 * opSum.median() / unprofiled.median()));
        report.note("issue_sum_ms", issueSum.medianMillis(), String.format(Locale.ROOT,
                "host issue time: %.3f ms median per step, summed over the ops (queue drained before each; %s than the device's %.3f ms)",
                issueSum.medianMillis(), issueSum.median() > opSum.median() ? "longer" : "shorter", opSum.medianMillis()));
        report.note("ops_per_step", profile.callsPerStep(), null);
        report.note("kernels_per_step", profile.kernelsPerStep(), String.format(Locale.ROOT,
                "kernel launches per step: %d of the backend's own kernels over %d ops (the kernels cuDNN and cuBLAS start are not counted)",
                profile.kernelsPerStep(), profile.callsPerStep()));
        OpCost c = profile.totalCost();
        report.note("step_flops", c.flops(), String.format(Locale.ROOT, "work per step: %.3f GFLOP, %.1f MB minimum traffic (summed over the ops)", c.flops() / 1e9, c.bytes() / 1e6));
        report.note("step_bytes", c.bytes(), null);
        report.note("rows", perCall ? "one per op call, in issue order" : "one per op and scope",
                perCall ? "rows: one per op call, in issue order" : "rows: one per op and scope (calls summed; --per-call for each call)");
        report.table("ops", perCall ? table(profile.perCall(), issue.perCall(), true, peaks)
                : table(profile.byScopeAndOp(), issue.byScopeAndOp(), false, peaks));
        return new Result(report, totals);
    }

    private static long timeStep(OpTimer timer, TrainingStep step) {
        timer.start();
        step.train();
        timer.stop();
        return timer.elapsedNanos();
    }

    /** rows: device times; issued: the same rows' host issue times. */
    static Table table(List<OpProfile.Row> rows, List<OpProfile.Row> issued, boolean perCall, Peaks peaks) {
        if (issued.size() != rows.size()) throw new IllegalArgumentException(rows.size() + " device rows but " + issued.size() + " issue rows");
        List<Table.Column> cols = new ArrayList<>(List.of(
                new Table.Column("scope", "scope", null),
                new Table.Column("op", "op", null),
                new Table.Column("calls", "calls", "%d"),
                new Table.Column("kernels", "kernels", "%d")));
        if (perCall) cols.add(new Table.Column("shapes", "shapes", null));
        cols.addAll(List.of(
                new Table.Column("median_ms", "ms", "%.3f"),
                new Table.Column("spread", "spread%", "%.0f"),
                new Table.Column("host_ms", "host ms", "%.3f"),
                new Table.Column("flops", null, "%d"),
                new Table.Column("bytes", null, "%d"),
                new Table.Column("gflop", "GFLOP", "%.3f"),
                new Table.Column("mbytes", "MB", "%.1f"),
                new Table.Column("gflops", "GFLOP/s", "%.1f"),
                new Table.Column("gbytes_per_s", "GB/s", "%.1f"),
                new Table.Column("flops_of_peak", "%peakF", "%.1f"),
                new Table.Column("bytes_of_peak", "%peakB", "%.1f"),
                new Table.Column("bound", "bound", null),
                new Table.Column("roofline", "%roof", "%.1f")));
        Table t = new Table(cols);
        for (int i = 0; i < rows.size(); i++) {
            OpProfile.Row r = rows.get(i);
            double sec = r.time().median() * 1e-9;
            double f = r.cost().flops(), b = r.cost().bytes();
            double flopRate = sec > 0 ? f / sec : Double.NaN, byteRate = sec > 0 ? b / sec : Double.NaN;
            double tf = f / peaks.flopsPerSecond(), tb = b / peaks.bytesPerSecond();
            List<Object> cells = new ArrayList<>(List.of(r.scope(), r.op(), r.calls(), r.kernels()));
            if (perCall) cells.add(r.shapes());
            cells.addAll(List.of(r.time().medianMillis(), 100 * r.time().spread(), issued.get(i).time().medianMillis(), r.cost().flops(), r.cost().bytes(), f / 1e9, b / 1e6, flopRate / 1e9, byteRate / 1e9,
                    100 * flopRate / peaks.flopsPerSecond(), 100 * byteRate / peaks.bytesPerSecond(),
                    tf >= tb ? "compute" : "memory", sec > 0 ? 100 * Math.max(tf, tb) / sec : Double.NaN));
            t.add(cells.toArray());
        }
        return t.groupedBy("scope");
    }
}
