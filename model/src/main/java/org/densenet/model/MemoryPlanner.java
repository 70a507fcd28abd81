package org.densenet.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.densenet.engine.DType;

/**
 * Predicts the memory a model needs, from its configuration alone: parameters, gradients, optimiser
 * state, and the activation workspace of one training step in each {@link MemoryMode}. It also
 * sizes the workspace's scratch buffers, so the model allocates what the plan predicts.
 */
public final class MemoryPlanner {
    private MemoryPlanner() {
    }

    /**
     * Bytes, by what holds them. {@code activationBytes} is everything a step adds on top of the
     * model's own buffers: tensors kept from forward to backward plus the shared scratch buffers.
     */
    public record Plan(long parameterBytes, long gradientBytes, long runningStatsBytes, long optimizerBytes,
                       long keptActivationBytes, long scratchBytes) {
        public Plan {
            if (parameterBytes < 0 || gradientBytes < 0 || runningStatsBytes < 0 || optimizerBytes < 0
                    || keptActivationBytes < 0 || scratchBytes < 0) {
                throw new IllegalArgumentException("memory amounts cannot be negative");
            }
        }

        public long activationBytes() {
            return keptActivationBytes + scratchBytes;
        }

        /** Peak of a training step with SGD momentum: model buffers plus activations. */
        public long totalBytes() {
            return parameterBytes + gradientBytes + runningStatsBytes + optimizerBytes + activationBytes();
        }
    }

    /** The plan of one training step (or one inference forward when {@code training} is false: no gradients, no optimiser), all in {@code dtype}. */
    public static Plan plan(DenseNetConfig config, MemoryMode mode, DType dtype, int batch, int height, int width, boolean training) {
        return plan(config, mode, dtype, dtype, batch, height, width, training);
    }

    /**
     * The plan with activations and their gradients stored in {@code activations} (the model's
     * {@code DenseNet.activationDType()}: BF16 or F16 in 16-bit training on a GPU) and everything else in
     * {@code dtype}. With 16-bit activations the weights also get their 16-bit copy, which convolutions
     * read, the input batch its 16-bit conversion, and a weight gradient a 16-bit scratch the size of
     * the largest convolution's weights.
     */
    public static Plan plan(DenseNetConfig config, MemoryMode mode, DType dtype, DType activations, int batch, int height, int width,
                            boolean training) {
        if (batch < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batch);
        boolean narrow = activations != dtype;
        long p = config.parameterCount() * dtype.bytes();
        long copy = narrow ? config.parameterCount() * activations.bytes() : 0;
        long[] scratch = scratchElements(config, mode, batch, height, width, training);
        long scratchBytes = 0;
        for (Workspace.Role r : Workspace.Role.values()) {
            scratchBytes += scratch[r.ordinal()] * (r == Workspace.Role.MASK ? dtype : activations).bytes();
        }
        if (narrow && training) scratchBytes += largestConvWeights(config) * activations.bytes();
        Kept kept = kept(config, mode, batch, height, width, training);
        long input = narrow ? (long) batch * config.inChannels() * height * width : 0;
        return new Plan(p + copy, p, 2 * config.normChannels() * dtype.bytes(), training ? p : 0,
                (kept.activations() + input) * activations.bytes() + kept.floats() * dtype.bytes(), scratchBytes);
    }

    /** Elements the workspace keeps: activations and their gradients, and the rest (statistics, dropout masks, pooled features, logits). */
    record Kept(long activations, long floats) {
    }

    /** The largest convolution's weights: what one 16-bit weight gradient needs. */
    static long largestConvWeights(DenseNetConfig config) {
        long k = config.growthRate(), bneck = config.bottleneckChannels();
        long most = (long) config.initFeatures() * config.inChannels() * (config.stem() == Stem.IMAGENET ? 49 : 9);
        for (int b = 0; b < config.blockCount(); b++) {
            for (int l = 0; l < config.layers(b); l++) {
                long cl = config.blockInputChannels(b) + (long) l * k;
                most = Math.max(most, bneck > 0 ? Math.max(cl * bneck, bneck * k * 9) : cl * k * 9);
            }
            if (b + 1 < config.blockCount()) most = Math.max(most, (long) config.blockOutputChannels(b) * config.blockInputChannels(b + 1));
        }
        return most;
    }

    /** Elements of the tensors the workspace keeps, by type, mirroring DenseNet's, the blocks' and the layers' allocations. */
    static Kept kept(DenseNetConfig config, MemoryMode mode, int n, int height, int width, boolean training) {
        boolean shared = mode.sharesStorage();
        boolean keepBottleneck = training && mode.keepsBottleneck();
        int k = config.growthRate();
        long bneck = config.bottleneckChannels();
        long a = 0, f = 0;
        if (config.stem() == Stem.IMAGENET) {
            long init = config.initFeatures();
            a += 2 * (n * init * conv0Size(height) * conv0Size(width));
            f += 2 * init;
        }
        int last = config.blockCount() - 1;
        for (int b = 0; b <= last; b++) {
            long hw = (long) config.featureSize(b, height) * config.featureSize(b, width);
            long ct = config.blockOutputChannels(b);
            a += n * ct * hw * (training ? 2 : 1);               // S and dS (naive: output and its gradient)
            f += 2 * ct;                                         // their statistics
            for (int l = 0; l < config.layers(b); l++) {
                long cl = config.blockInputChannels(b) + (long) l * k;
                if (bneck > 0 && (keepBottleneck || !shared)) {  // bottleneck output, its statistics
                    a += n * bneck * hw;
                    f += 2 * bneck;
                } else if (bneck > 0 && training) {
                    f += 2 * bneck;                              // recomputed bottleneck: its statistics only
                }
                if (shared) continue;
                a += 2 * n * cl * hw;                            // concatenated input, its BN-ReLU output
                f += 2 * cl;                                     // their statistics
                if (bneck > 0) a += n * bneck * hw;              // norm2's BN-ReLU output
                if (training && config.dropout() > 0) f += n * k * hw; // dropout mask: float32 in every precision
            }
            if (!shared) {
                a += n * config.blockInputChannels(b) * hw + (long) config.layers(b) * n * k * hw; // the separate feature maps
                a += n * ct * hw;                                 // BN-ReLU output of the transition or of norm5
                if (b < last) a += n * (long) config.blockInputChannels(b + 1) * hw; // transition's conv output
            }
        }
        long cf = config.finalChannels();
        return new Kept(a, f + n * cf * (training ? 2 : 1) + (long) n * config.numClasses()); // pooled (and its gradient), logits
    }

    /** Capacity of each scratch role ({@link Workspace.Role} order): the widest use of each. */
    static long[] scratchElements(DenseNetConfig config, MemoryMode mode, int n, int height, int width, boolean training) {
        boolean shared = mode.sharesStorage();
        boolean keepBottleneck = training && mode.keepsBottleneck();
        boolean dropout = training && config.dropout() > 0;
        long k = config.growthRate();
        long bneck = config.bottleneckChannels();
        long[] s = new long[Workspace.Role.values().length];
        int last = config.blockCount() - 1;
        for (int b = 0; b <= last; b++) {
            long hw = (long) config.featureSize(b, height) * config.featureSize(b, width);
            long ct = config.blockOutputChannels(b);
            long next = b < last ? config.blockInputChannels(b + 1) : 0;
            if (shared) {
                grow(s, Workspace.Role.NORM, n * ct * hw);
                grow(s, Workspace.Role.INNER, n * Math.max(bneck, next) * hw);
                if (dropout) grow(s, Workspace.Role.MASK, n * k * hw);
                if (!keepBottleneck) grow(s, Workspace.Role.BOTTLENECK, n * bneck * hw);
            }
            if (dropout) grow(s, Workspace.Role.LAYER_GRAD, n * k * hw);
            if (!training) continue;
            grow(s, Workspace.Role.NORM_GRAD, n * ct * hw);
            grow(s, Workspace.Role.INNER_GRAD, n * Math.max(bneck, next) * hw);
            grow(s, Workspace.Role.LAYER_GRAD, n * bneck * hw);
            if (!shared) grow(s, Workspace.Role.CONCAT_GRAD, n * (ct - k) * hw);
        }
        if (training && config.stem() == Stem.IMAGENET) {
            long stem = n * (long) config.initFeatures() * conv0Size(height) * conv0Size(width);
            grow(s, Workspace.Role.NORM_GRAD, stem);
            grow(s, Workspace.Role.INNER_GRAD, stem);
        }
        return s;
    }

    /** A run whose predicted peak does not fit in what its device has available. */
    public static final class NotEnoughMemoryException extends RuntimeException {
        NotEnoughMemoryException(String message) {
            super(message);
        }
    }

    /**
     * Checks, before anything large is allocated, that one training step (or inference forward)
     * of this network at this batch, its activations stored in {@code activations} (the backend's
     * {@code activationDType()}), fits in {@code availableBytes}, counting {@code bytesPerImage}
     * more for each image of the batch (the input batch and its labels on the device). When it does
     * not, the exception says how much it needs, what is available ({@code limitNote}: where that
     * limit comes from), which other memory modes would fit, and the largest batch that would.
     */
    public static void requireFits(String modelName, DenseNetConfig config, MemoryMode mode, DType activations, int batch, int height, int width,
                                   boolean training, long bytesPerImage, long availableBytes, String limitNote) {
        long need = need(config, mode, activations, batch, height, width, training, bytesPerImage);
        if (need <= availableBytes) return;
        StringBuilder m = new StringBuilder(String.format(Locale.ROOT, "%s needs about %s to %s at batch %d on %dx%d images in %s memory mode, "
                        + "more than the %s available (%s).", modelName, gib(need), training ? "train" : "run inference", batch, height, width,
                mode.label(), gib(availableBytes), limitNote));
        List<String> modes = new ArrayList<>();
        List<MemoryMode> distinct = MemoryMode.distinctFor(config);
        for (MemoryMode other : distinct) {
            if (other == mode) continue;
            long n = need(config, other, activations, batch, height, width, training, bytesPerImage);
            if (n <= availableBytes) modes.add("--memory " + other.label() + " (" + gib(n) + ")");
        }
        if (!modes.isEmpty()) m.append(" It fits with ").append(String.join(" or ", modes)).append(".");
        int largest = largestBatch(config, mode, activations, batch - 1, height, width, training, bytesPerImage, availableBytes);
        m.append(largest > 0 ? String.format(Locale.ROOT, " In %s mode the largest batch that fits is %d (-b %d).", mode.label(), largest, largest)
                : " Not even one image fits in " + mode.label() + " mode.");
        MemoryMode leanest = distinct.getLast();
        if (modes.isEmpty() && leanest != mode) {
            int lean = largestBatch(config, leanest, activations, batch - 1, height, width, training, bytesPerImage, availableBytes);
            if (lean > largest) {
                m.append(String.format(Locale.ROOT, " With --memory %s it is %d.", leanest.label(), lean));
            }
        }
        throw new NotEnoughMemoryException(m.toString());
    }

    private static long need(DenseNetConfig config, MemoryMode mode, DType activations, int batch, int height, int width, boolean training,
                             long bytesPerImage) {
        return plan(config, mode, DType.F32, activations, batch, height, width, training).totalBytes() + batch * bytesPerImage;
    }

    /** The largest batch in [1, upTo] that fits, or 0. The need grows with the batch. */
    private static int largestBatch(DenseNetConfig config, MemoryMode mode, DType activations, int upTo, int height, int width, boolean training,
                                    long bytesPerImage, long availableBytes) {
        int lo = 0, hi = upTo;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (need(config, mode, activations, mid, height, width, training, bytesPerImage) <= availableBytes) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    private static String gib(long bytes) {
        return bytes >= 1L << 30 ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30))
                : String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }

    /** ImageNet stem: side of the 7x7/2, pad 3 convolution's output. */
    private static long conv0Size(int in) {
        return (in - 1) / 2 + 1;
    }

    private static void grow(long[] s, Workspace.Role role, long elements) {
        s[role.ordinal()] = Math.max(s[role.ordinal()], elements);
    }
}
