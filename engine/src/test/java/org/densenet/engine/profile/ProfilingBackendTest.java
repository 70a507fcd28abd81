package org.densenet.engine.profile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.densenet.engine.Backend;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.OpTimer;
import org.densenet.engine.Pool2d;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Storage;
import org.densenet.engine.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The profiler against a stand-in backend that records what reaches it: arguments must arrive
 * unchanged (the same objects), results must come back unchanged, and each recorded op must carry
 * its scope, its cost and the time its timer measured.
 */
class ProfilingBackendTest {
    private record Call(String method, Object[] args) {
    }

    /**
     * Stand-in for a real backend: records calls, returns canned values, times every op as 1234 ns
     * and counts two kernel launches for every call but the timers'.
     */
    private static final class Recorder {
        final List<Call> calls = new ArrayList<>();
        final LossResult loss = new LossResult(2.5, 8, 3, 6);
        int timersMade;
        long fillSleepMillis;
        long launches;
        final Backend backend = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, m, args) -> {
                    if (m.getName().equals("kernelLaunches")) return launches;
                    if (!m.getName().equals("newTimer")) launches += 2;
                    calls.add(new Call(m.getName(), args == null ? new Object[0] : args));
                    return switch (m.getName()) {
                        case "name" -> "recorder";
                        case "softmaxCrossEntropy" -> loss;
                        case "versions" -> Map.of("lib", "1.0");
                        case "fill" -> {
                            Thread.sleep(fillSleepMillis);
                            yield null;
                        }
                        case "newTimer" -> {
                            timersMade++;
                            yield new OpTimer() {
                                public void start() {
                                }

                                public void stop() {
                                }

                                public long elapsedNanos() {
                                    return 1234;
                                }
                            };
                        }
                        default -> null;
                    };
                });

        Call last() {
            return calls.getLast();
        }
    }

    private static Tensor tensor(Backend owner, int... shape) {
        long n = Tensor.numel(shape);
        Storage s = new Storage() {
            boolean closed;

            public Backend backend() {
                return owner;
            }

            public DType dtype() {
                return DType.F32;
            }

            public long elements() {
                return n;
            }

            public boolean isClosed() {
                return closed;
            }

            public void close() {
                closed = true;
            }
        };
        return Tensor.owning(s, shape);
    }

    @Test
    void argumentsAndResultsPassThroughUnchanged() {
        Recorder rec = new Recorder();
        ProfilingBackend prof = new ProfilingBackend(rec.backend);
        prof.setRecording(true);
        Tensor x = tensor(rec.backend, 2, 3, 8, 8), w = tensor(rec.backend, 4, 3, 3, 3), y = tensor(rec.backend, 2, 4, 8, 8);
        Conv2d conv = new Conv2d(1, 1);

        prof.convForward(x, w, y, conv, true);
        assertEquals("convForward", rec.last().method());
        assertArrayEquals(new Object[] {x, w, y, conv, true}, rec.last().args());
        for (int i = 0; i < 4; i++) assertSame(new Object[] {x, w, y, conv}[i], rec.last().args()[i]);

        Tensor logits = tensor(rec.backend, 8, 10), labels = tensor(rec.backend, 8), dl = tensor(rec.backend, 8, 10);
        assertSame(rec.loss, prof.softmaxCrossEntropy(logits, labels, dl));
        assertArrayEquals(new Object[] {logits, labels, dl}, rec.last().args());

        Pool2d pool = new Pool2d(2, 2, 0);
        Tensor py = tensor(rec.backend, 2, 3, 4, 4);
        prof.avgPoolBackward(py, x, pool, false);
        assertArrayEquals(new Object[] {py, x, pool, false}, rec.last().args());

        float[] host = new float[384];
        prof.download(x, host);
        assertSame(host, rec.last().args()[1]);

        SgdParams sgd = new SgdParams(0.1, 0.9, 1e-4, true);
        Tensor p = tensor(rec.backend, 100), g = tensor(rec.backend, 100), b = tensor(rec.backend, 100);
        prof.sgdStep(p, g, b, sgd);
        assertArrayEquals(new Object[] {p, g, b, sgd}, rec.last().args());

        assertEquals("recorder", prof.name());
        assertEquals(Map.of("lib", "1.0"), prof.versions());
    }

    @Test
    void recordsOpsWithScopeCostAndTimeOnlyWhileRecording() {
        Recorder rec = new Recorder();
        ProfilingBackend prof = new ProfilingBackend(rec.backend);
        Tensor x = tensor(rec.backend, 2, 3, 4, 4), stat = tensor(rec.backend, 3);

        prof.batchNormStatistics(x, stat, stat);
        assertTrue(prof.collect().isEmpty(), "nothing is recorded before recording starts");

        prof.setRecording(true);
        try (var s = OpScope.enter("features.denseblock1")) {
            prof.batchNormStatistics(x, stat, stat);
            prof.batchNormApply(x, stat, stat, stat, stat, 1e-5, true, x);
        }
        prof.relu(x, x);
        List<OpSample> got = prof.collect();

        assertEquals(3, got.size());
        assertEquals(new OpSample("bn_stats", "features.denseblock1", "[2,3,4,4]", OpCosts.batchNormStatistics(x.shape(), 4), 1234, 2), got.get(0));
        assertEquals("bn_relu_apply", got.get(1).op());
        assertEquals(OpCosts.batchNormApply(x.shape(), true, 4), got.get(1).cost());
        assertEquals(new OpSample("relu", "", "[2,3,4,4]", OpCosts.relu(x.shape(), 4), 1234, 2), got.get(2));
        assertTrue(prof.collect().isEmpty(), "collect clears what it returned");
    }

    @Test
    void timersAreReusedFromOneCollectToTheNext() {
        Recorder rec = new Recorder();
        ProfilingBackend prof = new ProfilingBackend(rec.backend);
        prof.setRecording(true);
        Tensor x = tensor(rec.backend, 16);
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 5; i++) prof.fill(x, 1.0);
            assertEquals(5, prof.collect().size());
        }
        assertEquals(5, rec.timersMade);
    }

    @Test
    void issueTimingDrainsTheQueueBeforeEachOpAndTimesTheCallOnTheHostClock() {
        Recorder rec = new Recorder();
        ProfilingBackend prof = new ProfilingBackend(rec.backend);
        Tensor x = tensor(rec.backend, 16);
        prof.setRecording(true);
        prof.fill(x, 1.0);
        assertThrows(IllegalStateException.class, () -> prof.setIssueTiming(true), "a pending device-timed sample must be collected first");
        prof.collect();
        int deviceTimers = rec.timersMade;

        prof.setIssueTiming(true);
        rec.fillSleepMillis = 20;
        rec.calls.clear();
        prof.fill(x, 1.0);
        prof.relu(x, x);
        List<String> order = rec.calls.stream().map(Call::method).toList();
        // the queue is drained before each op, never after it: the time is the issuing alone
        assertEquals(List.of("synchronize", "fill", "synchronize", "relu"), order);
        List<OpSample> got = prof.collect();
        assertEquals(2, got.size());
        assertTrue(got.get(0).nanos() >= 20_000_000L, "the 20 ms call is timed by the host clock: " + got.get(0).nanos() + " ns");
        assertTrue(got.get(1).nanos() < 20_000_000L, "relu returned at once: " + got.get(1).nanos() + " ns");
        assertEquals(deviceTimers, rec.timersMade, "no device timer is made for issue timing");

        prof.setIssueTiming(false);
        prof.fill(x, 1.0);
        assertEquals(1234, prof.collect().getFirst().nanos(), "back on the device timer");
    }
}
