package org.densenet.model;

/**
 * How a dense block holds its activations during training. All give the same logits, loss and
 * gradients (up to floating-point rounding); they differ in memory and in how much is computed
 * twice. See docs/MEMORY.md.
 */
public enum MemoryMode {
    /**
     * Every layer copies all earlier feature maps into a new concatenated tensor and keeps it and
     * its BN-ReLU output until backward: memory grows with the square of the depth.
     */
    NAIVE,
    /**
     * One storage per block holds every feature map; layers read channel views of it, BN-ReLU
     * outputs go to scratch buffers shared by all layers and are recomputed in backward: memory
     * grows linearly with the depth. Each layer keeps its bottleneck (conv1) output.
     */
    SHARED,
    /**
     * {@link #SHARED}, and each layer's bottleneck (conv1) output goes to a shared scratch buffer
     * too and is recomputed in backward: the least memory, at one more 1x1 convolution per layer
     * and step. The same as {@link #SHARED} for networks without bottleneck layers.
     */
    RECOMPUTE;

    /** True when a block keeps its feature maps in one storage read through channel views. */
    public boolean sharesStorage() {
        return this != NAIVE;
    }

    /** True when a training step keeps each bottleneck output until backward instead of recomputing it. */
    public boolean keepsBottleneck() {
        return this != RECOMPUTE;
    }

    /**
     * The modes that differ for this network, in declaration order: all of them, less
     * {@link #RECOMPUTE} where no layer has a bottleneck (there it is {@link #SHARED}).
     */
    public static java.util.List<MemoryMode> distinctFor(DenseNetConfig config) {
        return java.util.Arrays.stream(values()).filter(m -> m.keepsBottleneck() || config.bottleneckChannels() > 0).toList();
    }

    /** The name used on the command line and in reports: "naive", "shared" or "recompute". */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Parses "naive", "shared" or "recompute" (any case), as given on the command line. */
    public static MemoryMode parse(String text) {
        for (MemoryMode m : values()) {
            if (m.name().equalsIgnoreCase(text.strip())) return m;
        }
        throw new IllegalArgumentException("unknown memory mode '" + text + "': use naive, shared or recompute");
    }
}
