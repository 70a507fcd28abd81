package org.densenet.train.data;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.densenet.engine.CounterRng;

/**
 * Prepares batches on background threads ahead of the step that needs them: the samples of a
 * batch are split among the worker threads (read, decode at the size the augmentation's crop needs,
 * augment into 8-bit pixels; the backend
 * normalises them on upload), and the next {@value #PREFETCH} batches are prepared while the
 * trainer uses the current one. Results do not depend on the number of workers or on timing:
 * sample order and augmentation are functions of (seed, epoch, sample).
 *
 * <p>An image that cannot be decoded (only file-backed datasets have them) is skipped: the next
 * sample of the dataset takes its place, and the skip is counted and reported.
 */
public final class BatchLoader implements AutoCloseable {
    /** Batches prepared ahead of the one the trainer is using. */
    private static final int PREFETCH = 2;

    private final Dataset data;
    private final Transform transform;
    private final int batchSize;
    private final int workers;
    private final ExecutorService pool;
    private final AtomicInteger skipped = new AtomicInteger();
    private final AtomicReference<String> firstSkip = new AtomicReference<>();

    public BatchLoader(Dataset data, Transform transform, int batchSize, int workers) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (workers < 1) throw new IllegalArgumentException("loader workers must be >= 1, got " + workers);
        if (transform.channels() != data.channels()) {
            throw new IllegalArgumentException(data.name() + " has " + data.channels() + " channels, the transform makes " + transform.channels());
        }
        this.data = data;
        this.transform = transform;
        this.batchSize = batchSize;
        this.workers = workers;
        AtomicInteger n = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "loader-" + data.name().replace(' ', '-') + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    public Dataset dataset() {
        return data;
    }

    public Transform transform() {
        return transform;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Threads preparing batches. */
    public int workers() {
        return workers;
    }

    /** Batches per epoch, the last one possibly partial. */
    public int batchesPerEpoch() {
        return (data.size() + batchSize - 1) / batchSize;
    }

    /** Images skipped as undecodable since this loader was made, and the first such message. */
    public int skippedImages() {
        return skipped.get();
    }

    public String firstSkipMessage() {
        return firstSkip.get();
    }

    /** A random permutation of [0, n) for one epoch. */
    public static int[] shuffled(int n, long seed, int epoch) {
        int[] p = identity(n);
        long key = CounterRng.bits(seed ^ 0xBB67AE8584CAA73BL, epoch);
        for (int i = n - 1; i > 0; i--) {
            int j = (int) Long.remainderUnsigned(CounterRng.bits(key, i), i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    public static int[] identity(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        return p;
    }

    /**
     * Iterates one epoch over samples {@code order}, starting at batch {@code firstBatch} (for a
     * resumed run). Augmentation keys come from {@code seed} and {@code epoch}.
     */
    public Epoch epoch(int[] order, long seed, int epoch, int firstBatch) {
        return new Epoch(order, seed, epoch, firstBatch);
    }

    /** The batches of one epoch, in order. A batch stays valid until the next call to {@link #next()}. */
    public final class Epoch implements AutoCloseable {
        /** A batch being prepared: its samples are split into one chunk per worker. */
        private record Pending(Batch batch, List<Future<?>> chunks) {
        }

        private final int[] order;
        private final long seed;
        private final int epoch;
        private final int total;
        private final ArrayDeque<Pending> inFlight = new ArrayDeque<>();
        private final Queue<Batch> free = new ArrayDeque<>();
        private int nextToSubmit;
        private Batch held;

        private Epoch(int[] order, long seed, int epoch, int firstBatch) {
            this.order = order;
            this.seed = seed;
            this.epoch = epoch;
            this.total = (order.length + batchSize - 1) / batchSize;
            if (firstBatch < 0 || firstBatch > total) throw new IllegalArgumentException("batch " + firstBatch + " of " + total);
            this.nextToSubmit = firstBatch;
            int samplePixels = transform.channels() * transform.height() * transform.width();
            for (int i = 0; i <= PREFETCH; i++) free.add(new Batch(batchSize, samplePixels));
            for (int i = 0; i < PREFETCH; i++) submitNext();
        }

        public boolean hasNext() {
            return !inFlight.isEmpty();
        }

        public Batch next() {
            if (held != null) {
                free.add(held);
                held = null;
            }
            Pending p = inFlight.poll();
            if (p == null) throw new IllegalStateException("no batches left in this epoch");
            try {
                for (Future<?> f : p.chunks()) f.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) throw re;
                throw new IllegalStateException("batch preparation failed", e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a batch", e);
            }
            held = p.batch();
            submitNext();
            return held;
        }

        private void submitNext() {
            if (nextToSubmit >= total) return;
            Batch b = free.poll();
            int index = nextToSubmit++;
            int start = index * batchSize;
            b.size = Math.min(batchSize, order.length - start);
            b.index = index;
            int chunk = (b.size + workers - 1) / workers;
            List<Future<?>> chunks = new ArrayList<>(workers);
            for (int lo = 0; lo < b.size; lo += chunk) {
                int from = lo, to = Math.min(b.size, lo + chunk);
                chunks.add(pool.submit(() -> fill(b, start, from, to)));
            }
            inFlight.add(new Pending(b, chunks));
        }

        /** Samples [from, to) of the batch that starts at position {@code start} of the epoch's order. */
        private void fill(Batch b, int start, int from, int to) {
            int pixels = transform.channels() * transform.height() * transform.width();
            for (int i = from; i < to; i++) {
                int sample = order[start + i];
                Decoded img = null;
                for (int attempt = 0; img == null; attempt++) {
                    long key = Transform.key(seed, epoch, sample);
                    try {
                        img = data.decode(sample, (w, h) -> transform.reduction(w, h, key));
                    } catch (DataException e) {
                        if (!data.skipsUndecodable() || attempt >= 16) throw e;
                        skipped.incrementAndGet();
                        firstSkip.compareAndSet(null, e.getMessage());
                        sample = (sample + 1) % data.size();
                    }
                }
                b.labels[i] = data.label(sample);
                transform.apply(img, Transform.key(seed, epoch, sample), b.pixels, i * pixels);
            }
        }

        /** Stops waiting for the batches still in flight (they finish in the background). */
        @Override
        public void close() {
            for (Pending p : inFlight) for (Future<?> f : p.chunks()) f.cancel(false);
            inFlight.clear();
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
