package org.densenet.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.densenet.train.data.Batch;
import org.densenet.train.data.BatchLoader;
import org.densenet.train.data.DataException;
import org.densenet.train.data.Dataset;
import org.densenet.train.data.Decoded;
import org.densenet.train.data.Transform;

/**
 * {@code densenet bench data}: how fast the input pipeline turns a dataset into batches, with no
 * network behind it. First each stage alone on one thread (load: read and decode one image;
 * transform: crop, resize and flip it into 8-bit pixels; the normalising is the backend's, as it
 * uploads a batch), then the {@link BatchLoader} training uses, with each
 * number of worker threads asked for, drained as fast as it delivers. A training step can go no
 * faster than its loader: compare the images per second with {@code bench step}'s.
 */
public final class DataBench {
    /**
     * @param describe what the transform does, for the report
     * @param warmup   batches drawn and discarded before timing, for each worker count (JIT, file cache)
     * @param batches  batches timed for each worker count
     */
    public record Setup(Dataset data, Transform transform, String describe, int batch, int[] workers, int warmup, int batches, long seed) {
        public Setup {
            check(batch, workers, warmup, batches);
            workers = workers.clone();
        }

        /** The checks of the numbers, which a command can make before it opens a dataset (ImageNet's takes a while to list). */
        public static void check(int batch, int[] workers, int warmup, int batches) {
            if (batch < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batch);
            if (workers.length == 0) throw new IllegalArgumentException("give at least one worker count");
            for (int w : workers) if (w < 1) throw new IllegalArgumentException("worker counts must be >= 1, got " + w);
            if (warmup < 0) throw new IllegalArgumentException("warm-up batches must be >= 0, got " + warmup);
            if (batches < 1) throw new IllegalArgumentException("timed batches must be >= 1, got " + batches);
        }
    }

    /** One worker count's result: images delivered in {@code nanos}, and the gap before each timed batch. */
    record Throughput(int workers, int batches, long images, long nanos, Stats perBatch) {
        double imagesPerSecond() {
            return images * 1e9 / nanos;
        }
    }

    /** One thread's time per image in each stage, over {@code samples} images ({@code skipped} more could not be decoded). */
    record Stages(int samples, int skipped, double loadNanos, double transformNanos) {
        double imagesPerSecond() {
            return 1e9 / (loadNanos + transformNanos);
        }
    }

    private DataBench() {
    }

    public static Report run(Setup s, RunInfo info) {
        Dataset d = s.data();
        Transform t = s.transform();
        Report report = new Report(info, String.format(Locale.ROOT, "bench data: %s, %d images, batch %d; %d warm-up + %d timed batches per worker count",
                d.name(), d.size(), s.batch(), s.warmup(), s.batches()));
        report.note("dataset", d.name(), null);
        report.note("images", d.size(), null);
        report.note("output", t.channels() + "x" + t.height() + "x" + t.width(),
                String.format(Locale.ROOT, "output: 8-bit %dx%dx%d per image: %s (normalised on upload)", t.channels(), t.height(), t.width(), s.describe()));

        List<Throughput> runs = new ArrayList<>();
        int skipped = 0;
        String firstSkip = null;
        for (int w : s.workers()) {
            try (BatchLoader loader = new BatchLoader(d, t, s.batch(), w)) {
                runs.add(drain(loader, s));
                skipped += loader.skippedImages();
                if (firstSkip == null) firstSkip = loader.firstSkipMessage();
            }
        }
        Stages st = stages(s);
        skipped += st.skipped();

        Table stages = new Table(List.of(
                new Table.Column("stage", "stage (one thread)", null),
                new Table.Column("ms_per_image", "ms/image", "%.3f"),
                new Table.Column("images_per_s", "img/s", "%.1f")));
        stages.add("load (read, decode)", st.loadNanos() / 1e6, 1e9 / st.loadNanos());
        stages.add("transform (augment)", st.transformNanos() / 1e6, 1e9 / st.transformNanos());
        stages.add("both", (st.loadNanos() + st.transformNanos()) / 1e6, st.imagesPerSecond());
        report.table("stages", stages);

        Table loader = new Table(List.of(
                new Table.Column("workers", "workers", "%d"),
                new Table.Column("batches", "batches", "%d"),
                new Table.Column("images", "images", "%d"),
                new Table.Column("seconds", "s", "%.3f"),
                new Table.Column("images_per_s", "img/s", "%.1f"),
                new Table.Column("median_ms", "ms/batch", "%.3f"),
                new Table.Column("p10_ms", "p10", "%.3f"),
                new Table.Column("p90_ms", "p90", "%.3f"),
                new Table.Column("speedup", "x one thread", "%.2f")));
        Throughput best = runs.getFirst();
        for (Throughput r : runs) {
            Stats b = r.perBatch();
            loader.add(r.workers(), r.batches(), r.images(), r.nanos() / 1e9, r.imagesPerSecond(), b.median() / 1e6, b.p10() / 1e6,
                    b.p90() / 1e6, r.imagesPerSecond() / st.imagesPerSecond());
            if (r.imagesPerSecond() > best.imagesPerSecond()) best = r;
        }
        report.table("loader", loader);
        report.note("best_images_per_s", best.imagesPerSecond(), String.format(Locale.ROOT,
                "fastest: %.1f img/s with %d worker%s (%.1f batches/s of %d); one thread does %.1f img/s",
                best.imagesPerSecond(), best.workers(), best.workers() == 1 ? "" : "s", best.imagesPerSecond() / s.batch(), s.batch(),
                st.imagesPerSecond()));
        report.note("best_workers", best.workers(), null);
        if (skipped > 0) {
            report.note("skipped_images", skipped, String.format(Locale.ROOT, "skipped: %d undecodable image%s (first: %s)",
                    skipped, skipped == 1 ? "" : "s", firstSkip != null ? firstSkip : "while timing the stages"));
        }
        return report;
    }

    /** Draws warm-up then timed batches from successive epochs, as fast as the loader delivers them. */
    static Throughput drain(BatchLoader loader, Setup s) {
        int n = loader.dataset().size();
        long[] gaps = new long[s.batches()];
        long images = 0, start = 0, last = 0;
        int drawn = 0, timed = 0;
        for (int epoch = 0; timed < s.batches(); epoch++) {
            try (BatchLoader.Epoch e = loader.epoch(BatchLoader.shuffled(n, s.seed(), epoch), s.seed(), epoch, 0)) {
                if (drawn == 0) last = start = System.nanoTime();  // the first batch's wait counts when there is no warm-up
                while (e.hasNext() && timed < s.batches()) {
                    Batch b = e.next();
                    long now = System.nanoTime();
                    if (drawn++ < s.warmup()) {
                        last = start = now;
                        continue;
                    }
                    gaps[timed++] = now - last;
                    images += b.size();
                    last = now;
                }
            }
        }
        return new Throughput(loader.workers(), timed, images, last - start, Stats.of(gaps));
    }

    /** Each stage alone on this thread, over the first images of epoch 0's order (after one untimed image). */
    static Stages stages(Setup s) {
        Dataset d = s.data();
        Transform t = s.transform();
        int[] order = BatchLoader.shuffled(d.size(), s.seed(), 0);
        int samples = Math.min(d.size(), Math.max(s.batch(), 16));
        byte[] out = new byte[t.channels() * t.height() * t.width()];
        long load = 0, transform = 0;
        int done = 0, skipped = 0;
        for (int i = -1; i < samples; i++) {
            int sample = order[Math.max(i, 0)];
            long key = Transform.key(s.seed(), 0, sample);
            long t0 = System.nanoTime();
            Decoded img;
            try {
                img = d.decode(sample, (w, h) -> t.reduction(w, h, key));
            } catch (DataException e) {
                if (!d.skipsUndecodable()) throw e;
                if (i >= 0) skipped++;
                continue;
            }
            long t1 = System.nanoTime();
            t.apply(img, key, out, 0);
            long t2 = System.nanoTime();
            if (i < 0) continue;
            load += t1 - t0;
            transform += t2 - t1;
            done++;
        }
        if (done == 0) throw new DataException(d.name() + ": none of the first " + samples + " images could be decoded");
        return new Stages(done, skipped, (double) load / done, (double) transform / done);
    }
}
