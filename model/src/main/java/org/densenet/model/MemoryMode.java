package org.densenet.model;

/**
 * How a dense block holds its activations during training. Both give the same logits, loss and
 * gradients (up to floating-point rounding); they differ in memory. See docs/MEMORY.md.
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
     * grows linearly with the depth.
     */
    SHARED;

    /** Parses "naive" or "shared" (any case), as given on the command line. */
    public static MemoryMode parse(String text) {
        for (MemoryMode m : values()) {
            if (m.name().equalsIgnoreCase(text.strip())) return m;
        }
        throw new IllegalArgumentException("unknown memory mode '" + text + "': use naive or shared");
    }
}
