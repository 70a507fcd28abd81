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

    /** The plan of one training step (or one inference forward when {@code training} is false: no gradients, no optimiser). */
    public static Plan plan(DenseNetConfig config, MemoryMode mode, DType dtype, int batch, int height, int width, boolean training) {
        if (batch < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batch);
        long p = config.parameterCount() * dtype.bytes();
        long[] scratch = scratchElements(config, mode, batch, height, width, training);
        long scratchTotal = 0;
        for (long s : scratch) scratchTotal += s;
        return new Plan(p, p, 2 * config.normChannels() * dtype.bytes(), training ? p : 0,
                keptElements(config, mode, batch, height, width, training) * dtype.bytes(), scratchTotal * dtype.bytes());
    }

    /** Elements of the tensors the workspace keeps, mirroring DenseNet's, the blocks' and the layers' allocations. */
    static long keptElements(DenseNetConfig config, MemoryMode mode, int n, int height, int width, boolean training) {
        boolean shared = mode.sharesStorage();
        boolean keepBottleneck = training && mode.keepsBottleneck();
        int k = config.growthRate();
        long bneck = config.bottleneckChannels();
        long e = 0;
        if (config.stem() == Stem.IMAGENET) {
            long f = config.initFeatures();
            e += 2 * (n * f * conv0Size(height) * conv0Size(width)) + 2 * f;
        }
        int last = config.blockCount() - 1;
        for (int b = 0; b <= last; b++) {
            long hw = (long) config.featureSize(b, height) * config.featureSize(b, width);
            long ct = config.blockOutputChannels(b);
            e += n * ct * hw * (training ? 2 : 1) + 2 * ct;      // S and dS (naive: output and its gradient)
            for (int l = 0; l < config.layers(b); l++) {
                long cl = config.blockInputChannels(b) + (long) l * k;
                if (bneck > 0 && (keepBottleneck || !shared)) e += n * bneck * hw + 2 * bneck; // bottleneck output, its statistics
                else if (bneck > 0 && training) e += 2 * bneck;     // recomputed bottleneck: its statistics only
                if (shared) continue;
                e += 2 * n * cl * hw + 2 * cl;                   // concatenated input, its BN-ReLU output, statistics
                if (bneck > 0) e += n * bneck * hw;              // norm2's BN-ReLU output
                if (training && config.dropout() > 0) e += n * k * hw; // dropout mask
            }
            if (!shared) {
                e += n * config.blockInputChannels(b) * hw + (long) config.layers(b) * n * k * hw; // the separate feature maps
                e += n * ct * hw;                                 // BN-ReLU output of the transition or of norm5
                if (b < last) e += n * (long) config.blockInputChannels(b + 1) * hw; // transition's conv output
            }
        }
        long cf = config.finalChannels();
        return e + n * cf * (training ? 2 : 1) + (long) n * config.numClasses(); // pooled (and its gradient), logits
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
     * of this network at this batch fits in {@code availableBytes}, counting {@code bytesPerImage}
     * more for each image of the batch (the input batch and its labels on the device). When it does
     * not, the exception says how much it needs, what is available ({@code limitNote}: where that
     * limit comes from), which other memory modes would fit, and the largest batch that would.
     */
    public static void requireFits(String modelName, DenseNetConfig config, MemoryMode mode, int batch, int height, int width, boolean training,
                                   long bytesPerImage, long availableBytes, String limitNote) {
        long need = need(config, mode, batch, height, width, training, bytesPerImage);
        if (need <= availableBytes) return;
        StringBuilder m = new StringBuilder(String.format(Locale.ROOT, "%s needs about %s to %s at batch %d on %dx%d images in %s memory mode, "
                        + "more than the %s available (%s).", modelName, gib(need), training ? "train" : "run inference", batch, height, width,
                mode.label(), gib(availableBytes), limitNote));
        List<String> modes = new ArrayList<>();
        List<MemoryMode> distinct = MemoryMode.distinctFor(config);
        for (MemoryMode other : distinct) {
            if (other == mode) continue;
            long n = need(config, other, batch, height, width, training, bytesPerImage);
            if (n <= availableBytes) modes.add("--memory " + other.label() + " (" + gib(n) + ")");
        }
        if (!modes.isEmpty()) m.append(" It fits with ").append(String.join(" or ", modes)).append(".");
        int largest = largestBatch(config, mode, batch - 1, height, width, training, bytesPerImage, availableBytes);
        m.append(largest > 0 ? String.format(Locale.ROOT, " In %s mode the largest batch that fits is %d (-b %d).", mode.label(), largest, largest)
                : " Not even one image fits in " + mode.label() + " mode.");
        MemoryMode leanest = distinct.getLast();
        if (modes.isEmpty() && leanest != mode) {
            int lean = largestBatch(config, leanest, batch - 1, height, width, training, bytesPerImage, availableBytes);
            if (lean > largest) {
                m.append(String.format(Locale.ROOT, " With --memory %s it is %d.", leanest.label(), lean));
            }
        }
        throw new NotEnoughMemoryException(m.toString());
    }

    private static long need(DenseNetConfig config, MemoryMode mode, int batch, int height, int width, boolean training, long bytesPerImage) {
        return plan(config, mode, DType.F32, batch, height, width, training).totalBytes() + batch * bytesPerImage;
    }

    /** The largest batch in [1, upTo] that fits, or 0. The need grows with the batch. */
    private static int largestBatch(DenseNetConfig config, MemoryMode mode, int upTo, int height, int width, boolean training, long bytesPerImage,
                                    long availableBytes) {
        int lo = 0, hi = upTo;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (need(config, mode, mid, height, width, training, bytesPerImage) <= availableBytes) lo = mid;
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
