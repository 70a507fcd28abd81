package org.densenet.cli.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.densenet.engine.profile.OpCost;
import org.densenet.engine.profile.OpSample;

/**
 * The per-op samples of several repeats of one step, summarised. Every repeat must issue the
 * same ops in the same order (the step is deterministic in its op sequence), so call i of one
 * repeat is call i of every other; a mismatch means the step is not what was measured and fails.
 */
public final class OpProfile {
    /**
     * One line of the profile: a single call, or all calls of one op in one scope.
     *
     * @param calls   per step
     * @param kernels per step, the backend's own kernel launches summed over the calls
     * @param cost    per step, summed over the calls
     * @param time    over repeats, of the per-step sum over the calls
     */
    public record Row(String scope, String op, String shapes, int calls, int kernels, OpCost cost, Stats time) {
    }

    private final List<List<OpSample>> repeats;

    public OpProfile(List<List<OpSample>> repeats) {
        if (repeats.isEmpty()) throw new IllegalArgumentException("a profile needs at least one repeat");
        for (int r = 1; r < repeats.size(); r++) {
            requireSame(repeats.getFirst(), repeats.get(r), "repeat 1", "repeat " + (r + 1));
        }
        this.repeats = List.copyOf(repeats);
    }

    /** Fails unless {@code other} recorded the same calls (op, scope, shapes) in the same order. */
    public void requireSameCalls(OpProfile other) {
        requireSame(repeats.getFirst(), other.repeats.getFirst(), "this profile", "the other profile");
    }

    private static void requireSame(List<OpSample> a, List<OpSample> b, String aName, String bName) {
        if (a.size() != b.size()) throw new IllegalStateException(bName + " issued " + b.size() + " ops, " + aName + " issued " + a.size());
        for (int i = 0; i < a.size(); i++) {
            OpSample x = a.get(i), y = b.get(i);
            if (!x.op().equals(y.op()) || !x.scope().equals(y.scope()) || !x.shapes().equals(y.shapes())) {
                throw new IllegalStateException("call " + (i + 1) + " differs between " + aName + " and " + bName + ": " + x.op() + " " + x.shapes()
                        + " in '" + x.scope() + "' vs " + y.op() + " " + y.shapes() + " in '" + y.scope() + "'");
            }
        }
    }

    public int callsPerStep() {
        return repeats.getFirst().size();
    }

    /** The backend's own kernel launches in one step (cuDNN's and cuBLAS's kernels not counted). */
    public long kernelsPerStep() {
        long k = 0;
        for (OpSample s : repeats.getFirst()) k += s.kernels();
        return k;
    }

    /** Every call, in issue order. */
    public List<Row> perCall() {
        List<OpSample> first = repeats.getFirst();
        List<Row> rows = new ArrayList<>(first.size());
        long[] ns = new long[repeats.size()];
        for (int i = 0; i < first.size(); i++) {
            for (int r = 0; r < ns.length; r++) ns[r] = repeats.get(r).get(i).nanos();
            OpSample s = first.get(i);
            rows.add(new Row(s.scope(), s.op(), s.shapes(), 1, s.kernels(), s.cost(), Stats.of(ns)));
        }
        return rows;
    }

    /** Calls grouped by (scope, op): scopes in order of their first call, ops within a scope likewise. */
    public List<Row> byScopeAndOp() {
        Map<String, Integer> index = new LinkedHashMap<>();
        Map<String, Integer> scopeOrder = new LinkedHashMap<>();
        List<OpSample> first = repeats.getFirst();
        int[] group = new int[first.size()];
        for (int i = 0; i < first.size(); i++) {
            OpSample s = first.get(i);
            scopeOrder.putIfAbsent(s.scope(), scopeOrder.size());
            group[i] = index.computeIfAbsent(s.scope() + '\u0000' + s.op(), k -> index.size());
        }
        int groups = index.size();
        long[][] sums = new long[groups][repeats.size()];
        int[] calls = new int[groups], kernels = new int[groups];
        OpCost[] cost = new OpCost[groups];
        OpSample[] firstOf = new OpSample[groups];
        for (int i = 0; i < first.size(); i++) {
            int g = group[i];
            calls[g]++;
            kernels[g] += first.get(i).kernels();
            cost[g] = cost[g] == null ? first.get(i).cost() : cost[g].plus(first.get(i).cost());
            if (firstOf[g] == null) firstOf[g] = first.get(i);
            for (int r = 0; r < repeats.size(); r++) sums[g][r] += repeats.get(r).get(i).nanos();
        }
        List<Row> rows = new ArrayList<>(groups);
        for (int g = 0; g < groups; g++) {
            String shapes = calls[g] == 1 ? firstOf[g].shapes() : "";
            rows.add(new Row(firstOf[g].scope(), firstOf[g].op(), shapes, calls[g], kernels[g], cost[g], Stats.of(sums[g])));
        }
        rows.sort(Comparator.comparingInt(r -> scopeOrder.get(r.scope())));
        return rows;
    }

    /** Over repeats, the sum of all op times of one step. */
    public Stats total() {
        long[] ns = new long[repeats.size()];
        for (int r = 0; r < ns.length; r++) for (OpSample s : repeats.get(r)) ns[r] += s.nanos();
        return Stats.of(ns);
    }

    public OpCost totalCost() {
        OpCost c = OpCost.NONE;
        for (OpSample s : repeats.getFirst()) c = c.plus(s.cost());
        return c;
    }
}
