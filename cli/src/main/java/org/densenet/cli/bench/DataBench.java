package org.densenet.cli.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.densenet.train.data.Batch;
import org.densenet.train.data.BatchLoader;
import org.densenet.train.data.DataException;
import org.densenet.train.data.Dataset;
import org.densenet.train.data.Decoded;
import org.densenet.train.data.ImageFolder;
import org.densenet.train.data.LoadTimes;
import org.densenet.train.data.Transform;

/**
 * {@code densenet bench data}: how fast the input pipeline turns a dataset into batches, with no
 * network behind it. First each stage alone on one thread (load: read and decode one image;
 * transform: crop, resize and flip it into 8-bit pixels; the normalising is the backend's, as it
 * uploads a batch), then the {@link BatchLoader} training uses, with each
 * number of worker threads asked for, drained as fast as it delivers. A training step can go no
 * faster than its loader: compare the images per second with {@code bench step}'s. Several sources
 * (the same images through different decoders) are measured in turns, each worker count for every
 * source before the next, and the whole repeated {@code rounds} times, so that a busy machine slows
 * them alike and the ratios hold.
 */
public final class DataBench {
    /**
     * @param sources  the dataset, once per decoder compared (same images, same order)
     * @param describe what the transform does, for the report
     * @param warmup   batches drawn and discarded before timing, for each worker count (JIT, file cache)
     * @param batches  batches timed for each worker count
     * @param rounds   times the whole comparison is repeated
     */
    public record Setup(List<Dataset> sources, Transform transform, String describe, int batch, int[] workers, int warmup, int batches,
                        long seed, int rounds) {
        public Setup {
            check(batch, workers, warmup, batches);
            if (sources.isEmpty()) throw new IllegalArgumentException("give at least one dataset");
            if (rounds < 1) throw new IllegalArgumentException("rounds must be >= 1, got " + rounds);
            sources = List.copyOf(sources);
            workers = workers.clone();
        }

        public Setup(Dataset data, Transform transform, String describe, int batch, int[] workers, int warmup, int batches, long seed) {
            this(List.of(data), transform, describe, batch, workers, warmup, batches, seed, 1);
        }

        /** The first source: the one dataset of a run that compares no decoders. */
        public Dataset data() {
            return sources.getFirst();
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
    record Throughput(int workers, int batches, long images, long nanos, Stats perBatch, long cpuNanos) {
        /**
         * The process's CPU time per image delivered (every thread: workers, the consumer, the JIT and the collector), ms;
         * the clock ticks in 10 ms on Linux, so this is for runs of seconds.
         */
        double cpuMsPerImage() {
            return cpuNanos / 1e6 / images;
        }

        double imagesPerSecond() {
            return images * 1e9 / nanos;
        }
    }

    /**
     * One thread's time per image in each stage, over {@code samples} images ({@code skipped} more could not
     * be decoded), as wall time and as the thread's CPU time; {@code reduced} of them were decoded below full
     * size, their outputs differing from those of a full-size decode by {@code diffSum} levels in all over
     * {@code diffCount} values, at most {@code diffMax}.
     */
    record Stages(int samples, int skipped, Times wall, Times cpu, int reduced, long diffSum, long diffCount, int diffMax) {
        /**
         * Nanoseconds per image: load (read and decode) and transform; the load's parts, reading the file and
         * decoding it, where the dataset times them (an image folder's), else NaN.
         */
        record Times(double load, double transform, double read, double decode) {
            double all() {
                return load + transform;
            }
        }

        double loadNanos() {
            return wall.load();
        }

        double transformNanos() {
            return wall.transform();
        }

        /** Whether the load was timed in its two parts (files read, then decoded): an image folder's. */
        boolean split() {
            return !Double.isNaN(wall.read());
        }

        double imagesPerSecond() {
            return 1e9 / wall.all();
        }
    }

    private DataBench() {
    }

    /** "turbo" or "imageio" for an image folder; what else a dataset decodes with has no choice. */
    static String decoderOf(Dataset d) {
        return d instanceof ImageFolder f ? f.decoderName() : "stored";
    }

    public static Report run(Setup s, RunInfo info) {
        Dataset first = s.data();
        Transform t = s.transform();
        Report report = new Report(info, String.format(Locale.ROOT, "bench data: %s, %d images, batch %d; %d warm-up + %d timed batches per worker count%s",
                first.name(), first.size(), s.batch(), s.warmup(), s.batches(),
                s.rounds() > 1 || s.sources().size() > 1 ? String.format(Locale.ROOT, ", %d decoder%s in turns, %d round%s", s.sources().size(),
                        s.sources().size() == 1 ? "" : "s", s.rounds(), s.rounds() == 1 ? "" : "s") : ""));
        report.note("dataset", first.name(), null);
        report.note("images", first.size(), null);
        report.note("output", t.channels() + "x" + t.height() + "x" + t.width(),
                String.format(Locale.ROOT, "output: 8-bit %dx%dx%d per image: %s (normalised on upload)", t.channels(), t.height(), t.width(), s.describe()));
        for (Dataset d : s.sources()) {
            if (d instanceof ImageFolder f) report.note("decoder_" + f.decoderName(), f.decoderNote(), f.decoderNote());
        }

        Table stages = new Table(List.of(
                new Table.Column("decoder", "decoder", null),
                new Table.Column("round", "round", "%d"),
                new Table.Column("stage", "stage (one thread)", null),
                new Table.Column("ms_per_image", "ms/image", "%.3f"),
                new Table.Column("images_per_s", "img/s", "%.1f"),
                new Table.Column("cpu_ms_per_image", "cpu ms/image", "%.3f")));
        Table loader = new Table(List.of(
                new Table.Column("decoder", "decoder", null),
                new Table.Column("round", "round", "%d"),
                new Table.Column("workers", "workers", "%d"),
                new Table.Column("batches", "batches", "%d"),
                new Table.Column("images", "images", "%d"),
                new Table.Column("seconds", "s", "%.3f"),
                new Table.Column("images_per_s", "img/s", "%.1f"),
                new Table.Column("median_ms", "ms/batch", "%.3f"),
                new Table.Column("p10_ms", "p10", "%.3f"),
                new Table.Column("p90_ms", "p90", "%.3f"),
                new Table.Column("speedup", "x one thread", "%.2f"),
                new Table.Column("cpu_ms_per_image", "cpu ms/img", "%.3f"),
                new Table.Column("rest_cpu_ms", "rest", "%.3f")));
        int n = s.sources().size();
        // [source][worker count][round], for the medians and ratios of the notes
        double[][][] rate = new double[n][s.workers().length][s.rounds()];
        Throughput best = null;
        String bestDecoder = null;
        int skipped = 0;
        String firstSkip = null;
        Stages[] lastStages = new Stages[n];
        for (int round = 1; round <= s.rounds(); round++) {
            for (int i = 0; i < n; i++) {
                Stages st = stages(s, s.sources().get(i));
                lastStages[i] = st;
                skipped += st.skipped();
                String dec = decoderOf(s.sources().get(i));
                Stages.Times w = st.wall(), c = st.cpu();
                if (st.split()) {
                    stages.add(dec, round, "read (file to memory)", w.read() / 1e6, 1e9 / w.read(), c.read() / 1e6);
                    stages.add(dec, round, "decode (to pixels)", w.decode() / 1e6, 1e9 / w.decode(), c.decode() / 1e6);
                    stages.add(dec, round, "rest of load", (w.load() - w.read() - w.decode()) / 1e6, null, (c.load() - c.read() - c.decode()) / 1e6);
                } else {
                    stages.add(dec, round, "load (read, decode)", w.load() / 1e6, 1e9 / w.load(), c.load() / 1e6);
                }
                stages.add(dec, round, st.split() ? "crop+resample (transform)" : "transform (augment)", w.transform() / 1e6,
                        1e9 / w.transform(), c.transform() / 1e6);
                stages.add(dec, round, "all", w.all() / 1e6, st.imagesPerSecond(), c.all() / 1e6);
            }
            for (int wi = 0; wi < s.workers().length; wi++) {
                for (int i = 0; i < n; i++) {
                    Dataset d = s.sources().get(i);
                    Throughput r;
                    try (BatchLoader l = new BatchLoader(d, t, s.batch(), s.workers()[wi])) {
                        r = drain(l, s);
                        skipped += l.skippedImages();
                        if (firstSkip == null) firstSkip = l.firstSkipMessage();
                    }
                    Stats b = r.perBatch();
                    loader.add(decoderOf(d), round, r.workers(), r.batches(), r.images(), r.nanos() / 1e9, r.imagesPerSecond(), b.median() / 1e6,
                            b.p10() / 1e6, b.p90() / 1e6, r.imagesPerSecond() / lastStages[i].imagesPerSecond(),
                            r.cpuMsPerImage(), r.cpuMsPerImage() - lastStages[i].cpu().all() / 1e6);
                    rate[i][wi][round - 1] = r.imagesPerSecond();
                    if (best == null || r.imagesPerSecond() > best.imagesPerSecond()) {
                        best = r;
                        bestDecoder = decoderOf(d);
                    }
                }
            }
        }
        report.table("stages", stages);
        report.table("loader", loader);
        double oneThread = lastStages[0].imagesPerSecond();
        report.note("best_images_per_s", best.imagesPerSecond(), String.format(Locale.ROOT,
                "fastest: %.1f img/s with %d worker%s%s (%.1f batches/s of %d); one thread does %.1f img/s",
                best.imagesPerSecond(), best.workers(), best.workers() == 1 ? "" : "s", n > 1 ? ", " + bestDecoder : "",
                best.imagesPerSecond() / s.batch(), s.batch(), oneThread));
        report.note("best_workers", best.workers(), null);
        if (n > 1) report.note("ratio", ratios(s, rate), ratios(s, rate));
        for (int i = 0; i < n; i++) {
            Stages st = lastStages[i];
            if (st.reduced() == 0) continue;
            double meanReduced = (double) st.diffSum() / st.diffCount();
            double meanAll = (double) st.diffSum() / ((long) st.samples() * t.channels() * t.height() * t.width());
            report.note("dct_scaling_" + decoderOf(s.sources().get(i)), meanAll, String.format(Locale.ROOT,
                    "DCT scaling (%s): %d of %d crops decoded at 1/2 to 1/8; against a full-size decode their pixels differ by %.2f levels"
                            + " on average (largest %d), %.3f over all crops", decoderOf(s.sources().get(i)), st.reduced(), st.samples(),
                    meanReduced, st.diffMax(), meanAll));
        }
        if (skipped > 0) {
            report.note("skipped_images", skipped, String.format(Locale.ROOT, "skipped: %d undecodable image%s (first: %s)",
                    skipped, skipped == 1 ? "" : "s", firstSkip != null ? firstSkip : "while timing the stages"));
        }
        return report;
    }

    /** "turbo / imageio: 4.12x with 1 worker, 3.98x with 2 (medians of 3 rounds)": each source against the last. */
    static String ratios(Setup s, double[][][] rate) {
        int n = s.sources().size();
        String base = decoderOf(s.sources().get(n - 1));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n - 1; i++) {
            if (!sb.isEmpty()) sb.append("; ");
            sb.append(decoderOf(s.sources().get(i))).append(" / ").append(base).append(':');
            for (int wi = 0; wi < s.workers().length; wi++) {
                sb.append(String.format(Locale.ROOT, "%s %.2fx with %d worker%s", wi == 0 ? "" : ",", median(rate[i][wi]) / median(rate[n - 1][wi]),
                        s.workers()[wi], s.workers()[wi] == 1 ? "" : "s"));
            }
        }
        return sb.append(String.format(Locale.ROOT, " (medians of %d round%s)", s.rounds(), s.rounds() == 1 ? "" : "s")).toString();
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    /** Draws warm-up then timed batches from successive epochs, as fast as the loader delivers them. */
    static Throughput drain(BatchLoader loader, Setup s) {
        int n = loader.dataset().size();
        long[] gaps = new long[s.batches()];
        long images = 0, start = 0, last = 0, cpu0 = 0;
        int drawn = 0, timed = 0;
        for (int epoch = 0; timed < s.batches(); epoch++) {
            try (BatchLoader.Epoch e = loader.epoch(BatchLoader.shuffled(n, s.seed(), epoch), s.seed(), epoch, 0)) {
                if (drawn == 0) {  // the first batch's wait counts when there is no warm-up
                    last = start = System.nanoTime();
                    cpu0 = processCpu();
                }
                while (e.hasNext() && timed < s.batches()) {
                    Batch b = e.next();
                    long now = System.nanoTime();
                    if (drawn++ < s.warmup()) {
                        last = start = now;
                        cpu0 = processCpu();
                        continue;
                    }
                    gaps[timed++] = now - last;
                    images += b.size();
                    last = now;
                }
            }
        }
        return new Throughput(loader.workers(), timed, images, last - start, Stats.of(gaps), processCpu() - cpu0);
    }

    private static long processCpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static Stages stages(Setup s) {
        return stages(s, s.data());
    }

    /**
     * Each stage alone on this thread, over the first images of epoch 0's order, after an untimed pass
     * over the same images (the JIT's compiles, the file cache). An image folder's load is timed in its
     * parts: reading the file, decoding it. A crop decoded below full size is made again, untimed, from a
     * full-size decode, and the two compared.
     */
    static Stages stages(Setup s, Dataset d) {
        Transform t = s.transform();
        int[] order = BatchLoader.shuffled(d.size(), s.seed(), 0);
        int samples = Math.min(d.size(), Math.max(s.batch(), 16));
        byte[] out = new byte[t.channels() * t.height() * t.width()], exact = new byte[out.length];
        ImageFolder folder = d instanceof ImageFolder f ? f : null;
        LoadTimes parts = new LoadTimes();
        long load = 0, transform = 0, loadCpu = 0, transformCpu = 0, diffSum = 0, diffCount = 0;
        int done = 0, skipped = 0, reduced = 0, diffMax = 0;
        for (int i = -samples; i < samples; i++) {
            int sample = order[Math.floorMod(i, samples)];
            long key = Transform.key(s.seed(), 0, sample);
            boolean timed = i >= 0;
            long c0 = LoadTimes.cpuNow(), t0 = System.nanoTime();
            Decoded img;
            try {
                img = folder != null ? folder.decode(sample, (w, h) -> t.reduction(w, h, key), timed ? parts : null)
                        : d.decode(sample, (w, h) -> t.reduction(w, h, key));
            } catch (DataException e) {
                if (!d.skipsUndecodable()) throw e;
                if (timed) skipped++;
                continue;
            }
            long t1 = System.nanoTime(), c1 = LoadTimes.cpuNow();
            t.apply(img, key, out, 0);
            long t2 = System.nanoTime(), c2 = LoadTimes.cpuNow();
            if (!timed) continue;
            load += t1 - t0;
            transform += t2 - t1;
            loadCpu += c1 - c0;
            transformCpu += c2 - c1;
            done++;
            if (img.reduction() > 1) {
                reduced++;
                t.apply(d.decode(sample, (w, h) -> 1), key, exact, 0);
                for (int k = 0; k < out.length; k++) {
                    int diff = Math.abs((out[k] & 0xFF) - (exact[k] & 0xFF));
                    diffSum += diff;
                    diffMax = Math.max(diffMax, diff);
                }
                diffCount += out.length;
            }
        }
        if (done == 0) throw new DataException(d.name() + ": none of the first " + samples + " images could be decoded");
        double f = folder != null ? 1.0 / done : Double.NaN;  // NaN: the parts were not timed
        return new Stages(done, skipped,
                new Stages.Times((double) load / done, (double) transform / done, parts.readNanos() * f, parts.decodeNanos() * f),
                new Stages.Times((double) loadCpu / done, (double) transformCpu / done, parts.readCpuNanos() * f, parts.decodeCpuNanos() * f),
                reduced, diffSum, diffCount, diffMax);
    }
}
