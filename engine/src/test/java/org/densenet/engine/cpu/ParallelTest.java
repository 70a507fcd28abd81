package org.densenet.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The thread pool behind every CPU op: each task runs once, failures surface, nested jobs run inline. */
class ParallelTest {

    @Test
    void runsEveryTaskExactlyOnceOnAValidWorker() {
        try (Parallel par = new Parallel(3)) {
            int n = 1000;
            AtomicIntegerArray runs = new AtomicIntegerArray(n);
            AtomicIntegerArray badWorker = new AtomicIntegerArray(1);
            par.run(n, (t, wk) -> {
                runs.incrementAndGet(t);
                if (wk < 0 || wk >= 3) badWorker.set(0, 1);
            });
            for (int i = 0; i < n; i++) assertEquals(1, runs.get(i), "task " + i);
            assertEquals(0, badWorker.get(0));
        }
    }

    @Test
    void aFailingTaskFailsTheJobWithItsOwnException() {
        try (Parallel par = new Parallel(2)) {
            IllegalStateException boom = new IllegalStateException("task 7 failed");
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> par.run(50, (t, wk) -> {
                if (t == 7) throw boom;
            }));
            assertSame(boom, thrown);
            AtomicIntegerArray after = new AtomicIntegerArray(1);
            par.run(10, (t, wk) -> after.incrementAndGet(0));
            assertEquals(10, after.get(0), "the pool still works after a failure");
        }
    }

    @Test
    void aJobStartedInsideATaskRunsInlineOnThatWorker() {
        try (Parallel par = new Parallel(2)) {
            AtomicIntegerArray mismatch = new AtomicIntegerArray(1);
            AtomicIntegerArray inner = new AtomicIntegerArray(1);
            par.run(8, (t, outer) -> par.run(4, (u, wk) -> {
                inner.incrementAndGet(0);
                if (wk != outer) mismatch.set(0, 1);
            }));
            assertEquals(32, inner.get(0));
            assertEquals(0, mismatch.get(0), "nested tasks run on the worker that started them");
        }
    }

    @Test
    void rejectsAThreadCountBelowOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Parallel(0));
        assertTrue(e.getMessage().contains("thread count"), e.getMessage());
    }
}
