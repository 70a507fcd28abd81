package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class StatsTest {

    @Test
    void medianPercentilesAndSpreadOfAnOddCount() {
        Stats s = Stats.of(new long[] {50, 10, 40, 20, 30});
        assertEquals(30, s.median());
        // p10 at position 0.4 between 10 and 20; p90 at 3.6 between 40 and 50
        assertEquals(14, s.p10(), 1e-12);
        assertEquals(46, s.p90(), 1e-12);
        assertEquals(10, s.min());
        assertEquals(50, s.max());
        assertEquals(40.0 / 30.0, s.spread(), 1e-15);
    }

    @Test
    void medianOfAnEvenCountInterpolates() {
        Stats s = Stats.of(new long[] {4, 1, 3, 2});
        assertEquals(2.5, s.median());
        assertEquals(1.3, s.p10(), 1e-12);
        assertEquals(3.7, s.p90(), 1e-12);
    }

    @Test
    void noValuesIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> Stats.of(new long[0]));
    }
}
