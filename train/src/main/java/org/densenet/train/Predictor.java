package org.densenet.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.model.DenseNet;
import org.densenet.train.data.DataException;
import org.densenet.train.data.Image;
import org.densenet.train.data.ImageFolder;
import org.densenet.train.data.Normalization;
import org.densenet.train.data.ResizeCenterCrop;

/**
 * Class probabilities for image files, in batches: files decoded as the training images are (by
 * {@code workers} threads), shorter side resized to {@code resize}, centre {@code crop}, normalised
 * on the device, then the network in inference mode and a softmax. A file that cannot be read
 * gets its error instead of a result; the others go on.
 */
public final class Predictor implements AutoCloseable {
    /** One file's outcome: the top classes with their probabilities (most likely first), or why it could not be read. */
    public record Result(Path file, int[] classes, double[] probabilities, String error) {
    }

    private final DenseNet net;
    private final ResizeCenterCrop crop;
    private final Normalization norm;
    private final int channels, batch, topk;
    private final ExecutorService pool;

    /** {@code norm} has one entry per input channel of {@code net}: 1 (grey, as PIL's convert("L")) or 3 (RGB). */
    public Predictor(DenseNet net, int resize, int crop, Normalization norm, int batch, int topk, int workers) {
        if (batch < 1 || topk < 1 || workers < 1) throw new IllegalArgumentException("batch, top-k and workers must be >= 1");
        this.net = net;
        this.channels = net.config().inChannels();
        if (norm.mean().length != channels) throw new IllegalArgumentException("normalisation for " + norm.mean().length
                + " channels, the network takes " + channels);
        this.crop = new ResizeCenterCrop(resize, crop, Normalization.IMAGENET);  // only its geometry: normalisation is applied on upload
        this.norm = norm;
        this.batch = batch;
        this.topk = Math.min(topk, net.config().numClasses());
        this.pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "predict-decode");
            t.setDaemon(true);
            return t;
        });
    }

    /** The one line that says which decoder reads the image files, as train and eval print it. */
    public static String decoderNote() {
        return ImageFolder.ofFiles(List.of()).decoderNote();
    }

    /** Results for {@code files} in their order; {@code done} hears each batch's results as they come. */
    public List<Result> predict(List<Path> files, java.util.function.Consumer<List<Result>> done) {
        ImageFolder images = ImageFolder.ofFiles(files);
        List<Result> all = new ArrayList<>(files.size());
        for (int start = 0; start < files.size(); start += batch) {
            int n = Math.min(batch, files.size() - start);
            List<Result> part = batch(images, start, n);
            all.addAll(part);
            if (done != null) done.accept(part);
        }
        return all;
    }

    private List<Result> batch(ImageFolder images, int start, int n) {
        int per = channels * crop.height() * crop.width();
        byte[] pixels = new byte[n * per];
        List<Future<String>> decoded = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int index = start + i, slot = i;
            decoded.add(pool.submit(() -> {
                try {
                    prepare(images.image(index), pixels, slot * per);
                    return null;
                } catch (DataException e) {
                    return e.getMessage();
                }
            }));
        }
        String[] errors = new String[n];
        int ok = 0;
        for (int i = 0; i < n; i++) {
            try {
                errors[i] = decoded.get(i).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while decoding images", e);
            } catch (ExecutionException e) {
                errors[i] = images.file(start + i) + ": " + e.getCause();
            }
            if (errors[i] == null) {
                if (ok != i) System.arraycopy(pixels, i * per, pixels, ok * per, per);  // readable images packed to the front
                ok++;
            }
        }
        double[][] probs = ok > 0 ? forward(java.util.Arrays.copyOf(pixels, ok * per), ok) : new double[0][];
        List<Result> out = new ArrayList<>(n);
        for (int i = 0, k = 0; i < n; i++) {
            Path f = images.file(start + i);
            out.add(errors[i] != null ? new Result(f, null, null, errors[i]) : top(f, probs[k++]));
        }
        return out;
    }

    /** The transform's crop of {@code img} into dst: RGB as decoded, or grey by PIL's convert("L") weights before resizing. */
    private void prepare(Image img, byte[] dst, int offset) {
        if (channels == 3) {
            crop.apply(img, 0, dst, offset);
            return;
        }
        int plane = img.height() * img.width();
        byte[] grey = new byte[3 * plane];
        for (int i = 0; i < plane; i++) {
            int r = img.pixels()[i] & 0xFF, g = img.pixels()[plane + i] & 0xFF, b = img.pixels()[2 * plane + i] & 0xFF;
            // PIL's ITU-R 601-2 luma in fixed point: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16
            byte l = (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
            grey[i] = l;
            grey[plane + i] = l;
            grey[2 * plane + i] = l;
        }
        byte[] rgb = new byte[3 * crop.height() * crop.width()];
        crop.apply(new Image(3, img.height(), img.width(), grey), 0, rgb, 0);
        System.arraycopy(rgb, 0, dst, offset, crop.height() * crop.width());
    }

    private double[][] forward(byte[] pixels, int n) {
        Backend be = net.backend();
        int classes = net.config().numClasses();
        float[] logits = new float[n * classes];
        try (Tensor x = be.allocate(DType.F32, n, channels, crop.height(), crop.width())) {
            be.uploadImages(pixels, x, norm.forUpload());
            Tensor y = net.forward(x, false);  // [n, classes]
            be.download(y, logits);
        }
        double[][] p = new double[n][classes];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < classes; c++) max = Math.max(max, logits[i * classes + c]);
            for (int c = 0; c < classes; c++) sum += p[i][c] = Math.exp(logits[i * classes + c] - max);
            for (int c = 0; c < classes; c++) p[i][c] /= sum;
        }
        return p;
    }

    private Result top(Path file, double[] p) {
        int[] idx = new int[topk];
        double[] v = new double[topk];
        java.util.Arrays.fill(idx, -1);
        for (int c = 0; c < p.length; c++) {
            // insertion into the running top-k; ties keep the lower class index first, as torch.topk does on the CPU
            int j = topk - 1;
            if (idx[j] >= 0 && p[c] <= v[j]) continue;
            while (j > 0 && (idx[j - 1] < 0 || p[c] > v[j - 1])) {
                idx[j] = idx[j - 1];
                v[j] = v[j - 1];
                j--;
            }
            idx[j] = c;
            v[j] = p[c];
        }
        return new Result(file, idx, v, null);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
