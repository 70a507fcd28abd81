package org.densenet.engine.cpu;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One fixed pool of worker threads that runs tasks 0..n-1 of a job, the calling thread taking
 * part. Tasks are handed out dynamically, so every task must compute its own outputs whatever
 * thread runs it: results then do not depend on the thread count. A job started from inside a
 * task runs inline on that thread.
 */
final class Parallel implements AutoCloseable {
    /** One task of a job; {@code worker} in [0, threads) indexes per-thread scratch. */
    @FunctionalInterface
    interface Task {
        void run(int task, int worker);
    }

    private final int threads;
    private final ExecutorService pool;
    private final ThreadLocal<Integer> workerId = new ThreadLocal<>();

    Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("thread count must be >= 1, got " + threads);
        this.threads = threads;
        AtomicInteger next = new AtomicInteger(1);
        this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads - 1, r -> {
            int id = next.getAndIncrement();
            Thread t = new Thread(() -> {
                workerId.set(id);
                r.run();
            }, "cpu-backend-" + id);
            t.setDaemon(true);
            return t;
        });
    }

    int threads() {
        return threads;
    }

    /** Runs task(0..n-1) across the pool and returns when all are done; rethrows the first failure. */
    void run(int n, Task task) {
        if (n <= 0) return;
        Integer me = workerId.get();
        if (pool == null || n == 1 || me != null) {
            int w = me == null ? 0 : me;
            for (int i = 0; i < n; i++) task.run(i, w);
            return;
        }
        synchronized (this) {
            runShared(n, task);
        }
    }

    private void runShared(int n, Task task) {
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int helpers = Math.min(threads - 1, n - 1);
        CountDownLatch done = new CountDownLatch(helpers);
        for (int h = 0; h < helpers; h++) {
            pool.execute(() -> {
                try {
                    drain(next, n, task, workerId.get(), failure);
                } finally {
                    done.countDown();
                }
            });
        }
        workerId.set(0);
        try {
            drain(next, n, task, 0, failure);
        } finally {
            workerId.remove();
        }
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for CPU worker threads", e);
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error err) throw err;
        if (t != null) throw new IllegalStateException(t);
    }

    private static void drain(AtomicInteger next, int n, Task task, int worker, AtomicReference<Throwable> failure) {
        for (int i; failure.get() == null && (i = next.getAndIncrement()) < n; ) {
            try {
                task.run(i, worker);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
