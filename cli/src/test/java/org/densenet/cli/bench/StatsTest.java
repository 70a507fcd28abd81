package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.densenet.engine.OpTimer;

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

    /**
     * A stand-in for a backend whose every step waits 300 ms for "the device" and spends about 2 ms
     * issuing work: the host time must leave the wait out and keep the issuing.
     */
    @Test
    void hostTimeLeavesOutWhatTheBackendWaited() {
        long[] waited = {0};
        OpTimer timer = new OpTimer() {
            long t0, t1;

            public void start() {
                t0 = System.nanoTime();
            }

            public void stop() {
                t1 = System.nanoTime();
            }

            public long elapsedNanos() {
                return t1 - t0;
            }
        };
        Stats.Timed t = Stats.timedWithHost(timer, () -> waited[0], 1, 3, () -> {
            sleep(2);
            long w0 = System.nanoTime();
            sleep(300);
            waited[0] += System.nanoTime() - w0;
        });
        assertTrue(t.device().median() >= 302e6, "device (wall) time " + t.device().median());
        // generous: a loaded machine may oversleep the 2 ms, but not by the 300 ms that a missed subtraction adds
        assertTrue(t.host().median() >= 2e6 && t.host().median() < 150e6, "host time without the 300 ms wait: " + t.host().median());
        assertEquals(3, t.host().count());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void noValuesIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> Stats.of(new long[0]));
    }
}
