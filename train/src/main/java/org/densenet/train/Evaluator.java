package org.densenet.train;

import java.util.HashMap;
import java.util.Map;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.ImageNormalization;
import org.densenet.engine.LossResult;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.Tensor;
import org.densenet.model.DenseNet;
import org.densenet.train.data.Batch;
import org.densenet.train.data.BatchLoader;

/** Loss, top-1 and top-5 of a model over a whole dataset, in inference mode. */
public final class Evaluator {
    /** Mean loss and accuracies in percent over {@code count} images. */
    public record Metrics(double loss, double top1, double top5, long count) {
        /** {loss sum, top-1 hits, top-5 hits, images}: what data-parallel ranks add up. */
        double[] sums() {
            return count == 0 ? new double[4] : new double[] {loss * count, Math.round(top1 * count / 100), Math.round(top5 * count / 100), count};
        }

        static Metrics ofSums(double[] s) {
            return new Metrics(s[0] / s[3], 100.0 * s[1] / s[3], 100.0 * s[2] / s[3], (long) s[3]);
        }
    }

    private Evaluator() {
    }

    public static Metrics evaluate(DenseNet net, BatchLoader loader, Progress progress) {
        return evaluate(net, loader, progress, System.err);
    }

    /**
     * As {@link #evaluate(DenseNet, BatchLoader, Progress)}; where the backend captures graphs, the
     * forward and loss are captured after the first batch and replayed for the others of its size
     * ({@link CapturedSteps}), and {@code notes} gets the line saying why when they cannot be.
     */
    public static Metrics evaluate(DenseNet net, BatchLoader loader, Progress progress, java.io.PrintStream notes) {
        return evaluate(net, loader, BatchLoader.identity(loader.dataset().size()), progress, notes);
    }

    /** As {@link #evaluate(DenseNet, BatchLoader, Progress, java.io.PrintStream)}, over the images {@code order} (a rank's shard). */
    static Metrics evaluate(DenseNet net, BatchLoader loader, int[] order, Progress progress, java.io.PrintStream notes) {
        Sums sums = new Sums(progress);
        try (DeviceBatches dev = new DeviceBatches(net.backend(), loader, 0);
             CapturedSteps graphs = new CapturedSteps(net.backend(), notes);
             BatchLoader.Epoch epoch = loader.epoch(order, 0, 0, 0)) {
            PendingLoss queued = null;
            while (epoch.hasNext()) {
                Batch b = epoch.next();
                DeviceBatches.Slot s = dev.upload(b);
                PendingLoss next = graphs.run(s.images(), "the evaluation forward", "a batch of " + b.size(),
                        () -> net.backend().softmaxCrossEntropyAsync(net.forward(s.images(), false), s.labels(), null));
                // The previous batch's numbers are read with this batch queued behind them, so the device never waits for the host.
                if (queued != null) sums.add(queued.get());
                queued = next;
            }
            if (queued != null) sums.add(queued.get());
        }
        if (progress != null) progress.finish();
        return Metrics.ofSums(new double[] {sums.lossSum, sums.top1, sums.top5, sums.seen});
    }

    /** Loss and hit counts summed over the batches read so far, shown on the progress bar as they come. */
    private static final class Sums {
        private final Progress progress;
        double lossSum;
        long top1, top5, seen;
        int batches;

        Sums(Progress progress) {
            this.progress = progress;
        }

        void add(LossResult r) {
            lossSum += r.loss() * r.count();
            top1 += r.top1Correct();
            top5 += r.top5Correct();
            seen += r.count();
            batches++;
            if (progress != null) progress.update(batches, batches, seen, lossSum / seen, 100.0 * top1 / seen);
        }
    }

    /**
     * Device tensors for batches, one set per batch size (the last batch of an epoch may be
     * smaller). Images go up as 8-bit pixels and are normalised by the backend; labels through a
     * host array of exactly the uploaded length.
     */
    static final class DeviceBatches implements AutoCloseable {
        /** Device images [n, C, H, W] and labels [n]; dLogits [n, classes] for training (else null); host labels when n is not the batch capacity. */
        record Slot(Tensor images, Tensor labels, Tensor dLogits, int[] hostLabels) {
        }

        private final Backend backend;
        private final int c, h, w, classes;
        private final ImageNormalization norm;
        private final Map<Integer, Slot> slots = new HashMap<>();

        /** {@code classes} > 0 also allocates gradient buffers for the logits. */
        DeviceBatches(Backend backend, BatchLoader loader, int classes) {
            this.backend = backend;
            this.classes = classes;
            this.c = loader.transform().channels();
            this.h = loader.transform().height();
            this.w = loader.transform().width();
            this.norm = loader.transform().normalization().forUpload();
        }

        Slot upload(Batch b) {
            int n = b.size();
            Slot s = slots.computeIfAbsent(n, k -> new Slot(backend.allocate(DType.F32, k, c, h, w), backend.allocate(DType.I32, k),
                    classes > 0 ? backend.allocate(DType.F32, k, classes) : null, b.labels().length == k ? null : new int[k]));
            backend.uploadImages(b.pixels(), s.images(), norm);
            if (s.hostLabels() == null) {
                backend.upload(b.labels(), s.labels());
            } else {
                System.arraycopy(b.labels(), 0, s.hostLabels(), 0, n);
                backend.upload(s.hostLabels(), s.labels());
            }
            return s;
        }

        @Override
        public void close() {
            for (Slot s : slots.values()) {
                s.images().close();
                s.labels().close();
                if (s.dLogits() != null) s.dLogits().close();
            }
            slots.clear();
        }
    }
}
