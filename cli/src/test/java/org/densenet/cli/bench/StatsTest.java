package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class StatsTest {

    @Test
    void medianQuartilesAndSpreadOfAnOddCount() {
        Stats s = Stats.of(new long[] {50, 10, 40, 20, 30});
        assertEquals(30, s.median());
        assertEquals(20, s.q1());
        assertEquals(40, s.q3());
        assertEquals(10, s.min());
        assertEquals(50, s.max());
        assertEquals(40.0 / 30.0, s.spread(), 1e-15);
    }

    @Test
    void medianOfAnEvenCountInterpolates() {
        Stats s = Stats.of(new long[] {4, 1, 3, 2});
        assertEquals(2.5, s.median());
        assertEquals(1.75, s.q1());
        assertEquals(3.25, s.q3());
    }

    @Test
    void noValuesIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> Stats.of(new long[0]));
    }
}
