package org.densenet.cli.bench;

import org.densenet.engine.Backend;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.MemoryPlanner;
import org.densenet.model.Stem;

/**
 * What a step benchmark runs: a network, its memory mode, the batch shape, and how often.
 *
 * @param warmup  steps run first and discarded (module loading, algorithm choice, allocator growth, JIT)
 * @param repeats timed steps; the median is reported
 * @param batches input batches rotated through
 */
public record Workload(String modelName, DenseNetConfig config, MemoryMode mode, int batch, int imageSize, int warmup, int repeats,
                       int batches, long seed) {
    public Workload {
        if (batch < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batch);
        if (imageSize < 1) throw new IllegalArgumentException("image size must be >= 1, got " + imageSize);
        if (warmup < 0) throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmup);
        if (repeats < 1) throw new IllegalArgumentException("repeats must be >= 1, got " + repeats);
        if (batches < 1) throw new IllegalArgumentException("input batches must be >= 1, got " + batches);
    }

    /** The image size the network was designed for: 32 for CIFAR networks, 224 for ImageNet ones. */
    public static int defaultImageSize(DenseNetConfig config) {
        return config.stem() == Stem.IMAGENET ? 224 : 32;
    }

    public Workload withMode(MemoryMode m) {
        return new Workload(modelName, config, m, batch, imageSize, warmup, repeats, batches, seed);
    }

    /**
     * The model and its input batches, after checking that a training step fits (the rotated input
     * batches, labels and logits gradient counted besides the model's memory plan).
     */
    public TrainingStep open(Backend backend) {
        requireFits(backend);
        return new TrainingStep(backend, config, mode, batch, imageSize, batches, seed);
    }

    /** Throws {@link MemoryPlanner.NotEnoughMemoryException}, saying what would fit, when a training step would not fit on the device. */
    public void requireFits(Backend backend) {
        long perImage = 4L * batches * ((long) config.inChannels() * imageSize * imageSize + 1) + 4L * config.numClasses();
        MemoryPlanner.requireFits(modelName, config, mode, backend.activationDType(), batch, imageSize, imageSize, true, perImage, backend.availableMemoryBytes(),
                backend.memoryLimitNote());
    }

    /** Batch shape and repeats, for a report's title. */
    public String describe() {
        return "batch " + batch + ", " + imageSize + "x" + imageSize + " images; " + warmup + " warm-up + " + repeats
                + " timed steps, " + batches + " input batches rotated";
    }
}
