package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.densenet.engine.profile.OpCost;
import org.densenet.engine.profile.OpSample;
import org.junit.jupiter.api.Test;

class OpProfileTest {
    private static OpSample s(String op, String scope, long flops, long nanos) {
        return new OpSample(op, scope, "[1]", new OpCost(flops, 2 * flops), nanos, op.equals("sgd") ? 2 : 0);
    }

    private static List<OpSample> step(long a, long b, long c) {
        return List.of(s("conv_fwd", "b1", 100, a), s("conv_fwd", "b1", 100, b), s("sgd", "opt", 10, c));
    }

    @Test
    void groupsByScopeAndOpAndTakesTheMedianOfPerStepSums() {
        OpProfile p = new OpProfile(List.of(step(10, 20, 5), step(11, 25, 6), step(30, 40, 4)));
        List<OpProfile.Row> rows = p.byScopeAndOp();
        assertEquals(2, rows.size());
        OpProfile.Row conv = rows.get(0);
        assertEquals("conv_fwd", conv.op());
        assertEquals(2, conv.calls());
        assertEquals(new OpCost(200, 400), conv.cost());
        // per-step sums 30, 36, 70
        assertEquals(36, conv.time().median());
        assertEquals(30, conv.time().min());
        assertEquals(70, conv.time().max());
        assertEquals(5, rows.get(1).time().median());
        // totals 35, 42, 74
        assertEquals(42, p.total().median());
        assertEquals(new OpCost(210, 420), p.totalCost());
        assertEquals(0, conv.kernels());
        assertEquals(2, rows.get(1).kernels());
        assertEquals(2, p.kernelsPerStep());
    }

    @Test
    void perCallRowsKeepIssueOrder() {
        OpProfile p = new OpProfile(List.of(step(10, 20, 5), step(12, 22, 7)));
        List<OpProfile.Row> rows = p.perCall();
        assertEquals(3, rows.size());
        assertEquals(11, rows.get(0).time().median());
        assertEquals(21, rows.get(1).time().median());
        assertEquals("sgd", rows.get(2).op());
    }

    @Test
    void repeatsThatIssueDifferentOpsAreRejected() {
        assertThrows(IllegalStateException.class, () -> new OpProfile(List.of(step(1, 2, 3), step(1, 2, 3).subList(0, 2))));
        List<OpSample> other = List.of(s("conv_fwd", "b1", 100, 1), s("conv_fwd", "b2", 100, 1), s("sgd", "opt", 10, 1));
        assertThrows(IllegalStateException.class, () -> new OpProfile(List.of(step(1, 2, 3), other)));
    }
}
