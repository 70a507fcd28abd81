package org.densenet.cli.bench;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.densenet.engine.cuda.CudnnProbe;
import org.densenet.engine.cuda.CudnnProbe.Algo;
import org.densenet.engine.cuda.CudnnProbe.Result;
import org.densenet.engine.cuda.CudnnProbe.Variant;
import org.densenet.engine.cuda.ffm.Cudnn.ConvOp;

/**
 * The tables of {@code bench probe-cudnn}: one row per problem, pass and variant (what the
 * heuristics offered, what ran, the fastest time against FP32 of the same placement), a summary
 * per variant and pass, and for scripts every algorithm's own entry.
 */
final class ProbeReport {
    private ProbeReport() {
    }

    static Report of(CudnnProbe.Outcome outcome, int problems, RunInfo info, String models, int batch, int align, boolean algorithms) {
        Report r = new Report(info, "cuDNN convolutions in 16 bits (legacy API): " + models + ", batch " + batch
                + ", slice channel offsets multiples of " + align);
        r.note("graph_api", "not probed", "cuDNN graph API: not probed (the engine binds the legacy convolution API only)");
        r.note("problems", problems, "shapes: " + problems + " distinct, " + outcome.notProbed().size() + " not probed for want of time");
        r.note("seconds", outcome.seconds(), String.format(Locale.ROOT, "probe time: %.1f s", outcome.seconds()));
        Map<String, Double> fp32 = baselines(outcome.results());

        Table rows = new Table(List.of(
                new Table.Column("conv", "conv", null),
                new Table.Column("shape", null, null),
                new Table.Column("placement", null, null),
                new Table.Column("pass", "pass", null),
                new Table.Column("variant", "variant", null),
                new Table.Column("heuristic_ok", "heuristic ok", null),
                new Table.Column("find_ok", "find ok", null),
                new Table.Column("fastest_algo", "algo", null),
                new Table.Column("fastest_math", null, null),
                new Table.Column("best_ms", "best ms", "%.3f"),
                new Table.Column("fp32_ms", "fp32 ms", "%.3f"),
                new Table.Column("speedup_vs_fp32", "x fp32", "%.2f"),
                new Table.Column("refused", "refused", null))).groupedBy("conv");
        for (Result res : outcome.results()) {
            Algo fastest = res.fastest();
            double base = fp32.getOrDefault(baselineKey(res), Double.NaN);
            rows.add(res.problem().label(), res.problem().shape(), res.problem().placement(), res.op().label, res.variant().label(),
                    okList(res.heuristic()), okList(res.found()), fastest == null ? null : fastest.algo(),
                    fastest == null ? null : fastest.mathType(), res.bestMs(), base, base / res.bestMs(), res.refused());
        }
        r.table("results", rows);
        r.table("summary by variant", summary(outcome.results(), fp32));
        if (algorithms) r.table("algorithms", algorithms(outcome.results()));
        if (!outcome.notProbed().isEmpty()) {
            Table skipped = new Table(List.of(new Table.Column("conv", "conv", null), new Table.Column("shape", "shape", null)));
            for (var p : outcome.notProbed()) skipped.add(p.label(), p.shape());
            r.table("not probed (time budget spent)", skipped);
        }
        return r;
    }

    /** The time each 16-bit result is set against: FP32 NCHW of the same problem, pass and placement. */
    static Map<String, Double> baselines(List<Result> results) {
        Map<String, Double> out = new HashMap<>();
        for (Result res : results) {
            if (res.variant().type() == CudnnProbe.DataType.FP32 && res.variant().layout() == CudnnProbe.Layout.NCHW) {
                out.put(baselineKey(res), res.bestMs());
            }
        }
        return out;
    }

    private static String baselineKey(Result res) {
        return res.problem().label() + "|" + res.op() + "|" + res.variant().slice();
    }

    /** "1,0,2 of 8": the algorithms with status success, in cuDNN's order, and how many were listed. */
    static String okList(List<Algo> algos) {
        StringBuilder sb = new StringBuilder();
        for (Algo a : algos) if (a.ok()) sb.append(sb.isEmpty() ? "" : ",").append(a.algo());
        return (sb.isEmpty() ? "none" : sb) + " of " + algos.size();
    }

    /**
     * Per variant and pass: how many problems ran at all, and the geometric mean of the speedup over
     * FP32 where both ran (the ratio a network would see is nearer the sum of times, also given).
     */
    static Table summary(List<Result> results, Map<String, Double> fp32) {
        record Acc(int[] counts, double[] sums) {
        }
        Map<String, Acc> acc = new LinkedHashMap<>();
        for (Variant v : CudnnProbe.VARIANTS) for (ConvOp op : ConvOp.values()) acc.put(v.label() + "|" + op.label, new Acc(new int[3], new double[3]));
        for (Result res : results) {
            Acc a = acc.get(res.variant().label() + "|" + res.op().label);
            a.counts[0]++;
            double best = res.bestMs(), base = fp32.getOrDefault(baselineKey(res), Double.NaN);
            if (Double.isNaN(best)) continue;
            a.counts[1]++;
            if (Double.isNaN(base) || !(best > 0)) continue;
            a.counts[2]++;
            a.sums[0] += Math.log(base / best);
            a.sums[1] += best;
            a.sums[2] += base;
        }
        Table t = new Table(List.of(
                new Table.Column("variant", "variant", null),
                new Table.Column("pass", "pass", null),
                new Table.Column("probed", "probed", "%d"),
                new Table.Column("ran", "ran", "%d"),
                new Table.Column("geomean_speedup", "geomean x fp32", "%.2f"),
                new Table.Column("sum_ms", "sum ms", "%.3f"),
                new Table.Column("fp32_sum_ms", "fp32 sum ms", "%.3f")));
        for (var e : acc.entrySet()) {
            Acc a = e.getValue();
            if (a.counts[0] == 0) continue;
            String[] key = e.getKey().split("\\|");
            boolean timed = a.counts[2] > 0;
            t.add(key[0], key[1], a.counts[0], a.counts[1], timed ? Math.exp(a.sums[0] / a.counts[2]) : Double.NaN,
                    timed ? a.sums[1] : Double.NaN, timed ? a.sums[2] : Double.NaN);
        }
        return t;
    }

    /** Every algorithm entry, heuristics and Find alike, for scripts. */
    private static Table algorithms(List<Result> results) {
        Table t = new Table(List.of(
                new Table.Column("conv", "conv", null), new Table.Column("pass", "pass", null), new Table.Column("variant", "variant", null),
                new Table.Column("source", "source", null), new Table.Column("algo", "algo", "%d"), new Table.Column("status", "status", null),
                new Table.Column("ms", "ms", "%.3f"), new Table.Column("workspace_bytes", "workspace", "%d"),
                new Table.Column("math", "math", "%d")));
        for (Result res : results) {
            for (Algo a : res.heuristic()) {
                t.add(res.problem().label(), res.op().label, res.variant().label(), "heuristic", a.algo(), a.statusText(), null,
                        a.workspaceBytes(), a.mathType());
            }
            for (Algo a : res.found()) {
                t.add(res.problem().label(), res.op().label, res.variant().label(), "find", a.algo(), a.statusText(),
                        a.ok() && a.ms() >= 0 ? (double) a.ms() : null, a.workspaceBytes(), a.mathType());
            }
        }
        return t;
    }
}
