package org.densenet.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shape of a DenseNet (Huang et al., arXiv 1608.06993), in torchvision's terms.
 *
 * @param blockSizes   dense layers per block
 * @param growthRate   k: channels each dense layer adds
 * @param bnSize       0 for plain layers (BN-ReLU-conv3x3); otherwise the bottleneck is bnSize*k
 *                     channels wide (BN-ReLU-conv1x1-BN-ReLU-conv3x3); the paper uses 4
 * @param compression  fraction of channels a transition keeps (floor(c * compression)); 1 = none
 * @param dropout      drop probability after each dense layer's last convolution (torchvision's place); 0 = none
 * @param stem         the layers before the first block
 * @param initFeatures channels out of the stem
 * @param numClasses   outputs of the classifier
 * @param inChannels   channels of the input images
 */
public record DenseNetConfig(int[] blockSizes, int growthRate, int bnSize, double compression, double dropout,
                             Stem stem, int initFeatures, int numClasses, int inChannels) {

    private static final Map<String, DenseNetConfig> PRESETS = new LinkedHashMap<>();
    private static final Pattern CIFAR_NAME = Pattern.compile("densenet-(bc-)?(\\d{1,4})-(\\d{1,4})");

    static {
        for (String name : List.of("densenet-40-12", "densenet-100-12", "densenet-100-24",
                "densenet-bc-100-12", "densenet-bc-250-24", "densenet-bc-190-40")) {
            PRESETS.put(name, parseCifarName(name));
        }
        PRESETS.put("densenet121", imagenet(new int[]{6, 12, 24, 16}, 32, 64));
        PRESETS.put("densenet161", imagenet(new int[]{6, 12, 36, 24}, 48, 96));
        PRESETS.put("densenet169", imagenet(new int[]{6, 12, 32, 32}, 32, 64));
        PRESETS.put("densenet201", imagenet(new int[]{6, 12, 48, 32}, 32, 64));
        PRESETS.put("densenet264", imagenet(new int[]{6, 12, 64, 48}, 32, 64));
    }

    public DenseNetConfig {
        if (blockSizes == null || blockSizes.length == 0) {
            throw new IllegalArgumentException("a DenseNet needs at least one dense block");
        }
        blockSizes = blockSizes.clone();
        for (int i = 0; i < blockSizes.length; i++) {
            if (blockSizes[i] < 1) {
                throw new IllegalArgumentException("dense block " + (i + 1) + " has " + blockSizes[i]
                        + " layers; every block needs at least one (block sizes " + Arrays.toString(blockSizes) + ")");
            }
        }
        if (growthRate < 1) throw new IllegalArgumentException("growth rate must be >= 1, got " + growthRate);
        if (bnSize < 0) throw new IllegalArgumentException("bottleneck size must be 0 (no bottleneck) or >= 1, got " + bnSize);
        if (!(compression > 0 && compression <= 1)) {
            throw new IllegalArgumentException("compression must be in (0, 1] (1 = keep every channel), got " + compression);
        }
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("dropout must be in [0, 1), got " + dropout);
        if (stem == null) throw new IllegalArgumentException("stem must be CIFAR or IMAGENET");
        if (initFeatures < 1) throw new IllegalArgumentException("initial features must be >= 1, got " + initFeatures);
        if (numClasses < 1) throw new IllegalArgumentException("number of classes must be >= 1, got " + numClasses);
        if (inChannels < 1) throw new IllegalArgumentException("input channels must be >= 1, got " + inChannels);
        int c = initFeatures;
        for (int b = 0; b < blockSizes.length - 1; b++) {
            c += blockSizes[b] * growthRate;
            if ((int) Math.floor(c * compression) < 1) {
                throw new IllegalArgumentException("compression " + compression + " leaves transition " + (b + 1)
                        + " with no channels out of " + c);
            }
            c = (int) Math.floor(c * compression);
        }
    }

    /** A preset by name (see {@link #presetNames()}), or any "densenet-L-k" / "densenet-bc-L-k" CIFAR network. */
    public static DenseNetConfig preset(String name) {
        String key = name.strip().toLowerCase(java.util.Locale.ROOT);
        DenseNetConfig c = PRESETS.get(key);
        if (c != null) return c;
        if (CIFAR_NAME.matcher(key).matches()) return parseCifarName(key);
        throw new IllegalArgumentException("unknown model '" + name + "'. Presets: " + String.join(", ", PRESETS.keySet())
                + "; or any CIFAR network named densenet-L-k (depth L = 3n+4) or densenet-bc-L-k (L = 6n+4), growth k");
    }

    public static List<String> presetNames() {
        return List.copyOf(PRESETS.keySet());
    }

    /**
     * Huang et al.'s CIFAR networks: three blocks at 32, 16 and 8 pixels for 32-pixel images. Without
     * bottleneck, depth L = 3n + 4 with n plain layers per block and 16 initial features; with
     * bottleneck, L = 6n + 4 (two convolutions per layer), 2k initial features and a 4k bottleneck.
     */
    public static DenseNetConfig cifar(int depth, int growth, boolean bottleneck, double compression, double dropout,
                                       int numClasses) {
        int convsPerLayer = bottleneck ? 2 : 1;
        int perBlock = 3 * convsPerLayer;
        if (depth < perBlock + 4 || (depth - 4) % perBlock != 0) {
            int n = Math.max(1, (depth - 4) / perBlock);
            String form = bottleneck ? "6n+4" : "3n+4";
            throw new IllegalArgumentException("depth " + depth + " is not " + form + " with n >= 1: a CIFAR DenseNet"
                    + (bottleneck ? " with bottleneck" : "") + " has 3 blocks of n layers of " + convsPerLayer
                    + " convolution" + (bottleneck ? "s" : "") + ", plus the first convolution, 2 transitions and the classifier"
                    + "; try depth " + (perBlock * n + 4) + " or " + (perBlock * (n + 1) + 4));
        }
        int n = (depth - 4) / perBlock;
        return new DenseNetConfig(new int[]{n, n, n}, growth, bottleneck ? 4 : 0, compression, dropout, Stem.CIFAR,
                bottleneck ? 2 * growth : 16, numClasses, 3);
    }

    private static DenseNetConfig parseCifarName(String name) {
        Matcher m = CIFAR_NAME.matcher(name);
        if (!m.matches()) throw new IllegalArgumentException("not a CIFAR DenseNet name: " + name);
        boolean bc = m.group(1) != null;
        return cifar(Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), bc, bc ? 0.5 : 1.0, 0.0, 10);
    }

    private static DenseNetConfig imagenet(int[] blocks, int growth, int init) {
        return new DenseNetConfig(blocks, growth, 4, 0.5, 0.0, Stem.IMAGENET, init, 1000, 3);
    }

    @Override
    public int[] blockSizes() {
        return blockSizes.clone();
    }

    public DenseNetConfig withClasses(int classes) {
        return new DenseNetConfig(blockSizes, growthRate, bnSize, compression, dropout, stem, initFeatures, classes, inChannels);
    }

    public DenseNetConfig withInChannels(int channels) {
        return new DenseNetConfig(blockSizes, growthRate, bnSize, compression, dropout, stem, initFeatures, numClasses, channels);
    }

    public DenseNetConfig withDropout(double p) {
        return new DenseNetConfig(blockSizes, growthRate, bnSize, compression, p, stem, initFeatures, numClasses, inChannels);
    }

    public int blockCount() {
        return blockSizes.length;
    }

    public int layers(int block) {
        return blockSizes[block];
    }

    public boolean bottleneck() {
        return bnSize > 0;
    }

    /** Channels of a bottleneck layer's 1x1 convolution output (0 without bottleneck). */
    public int bottleneckChannels() {
        return bnSize * growthRate;
    }

    /** Channels entering dense block {@code block} (0-based). */
    public int blockInputChannels(int block) {
        int c = initFeatures;
        for (int b = 0; b < block; b++) c = (int) Math.floor((c + blockSizes[b] * growthRate) * compression);
        return c;
    }

    /** Channels leaving dense block {@code block}: its input plus k per layer. */
    public int blockOutputChannels(int block) {
        return blockInputChannels(block) + blockSizes[block] * growthRate;
    }

    /** Channels into the final BN and the classifier. */
    public int finalChannels() {
        return blockOutputChannels(blockSizes.length - 1);
    }

    /**
     * Side length of the feature maps of dense block {@code block} for an input of side {@code imageSize}.
     * Throws when the image is too small for the network.
     */
    public int featureSize(int block, int imageSize) {
        if (imageSize < 1) throw new IllegalArgumentException("image size must be >= 1 pixel, got " + imageSize);
        int s = stem == Stem.CIFAR ? imageSize : ((imageSize - 1) / 2 + 1 - 1) / 2 + 1;
        if ((s >> (blockSizes.length - 1)) < 1) {
            throw new IllegalArgumentException("images of " + imageSize + " pixels are too small for " + blockSizes.length
                    + " dense blocks with a " + stem + " stem: each transition halves the feature maps, the last block would have none");
        }
        return s >> block;
    }

    /** Trainable parameters, counted as PyTorch does (BN weight and bias count; running statistics do not). */
    public long parameterCount() {
        int k = growthRate;
        int stemKernel = stem == Stem.CIFAR ? 3 : 7;
        long p = (long) initFeatures * inChannels * stemKernel * stemKernel + (stem == Stem.IMAGENET ? 2L * initFeatures : 0);
        for (int b = 0; b < blockSizes.length; b++) {
            long c = blockInputChannels(b);
            for (int l = 0; l < blockSizes[b]; l++, c += k) {
                p += 2 * c;
                p += bnSize > 0 ? (long) bnSize * k * c + 2L * bnSize * k + 9L * k * bnSize * k : 9L * k * c;
            }
            if (b < blockSizes.length - 1) p += 2 * c + c * blockInputChannels(b + 1);
        }
        long f = finalChannels();
        return p + 2 * f + f * numClasses + numClasses;
    }

    /**
     * The name this network goes by: the preset of the same shape (classes, input channels and
     * dropout aside), e.g. "densenet121", or "densenet-bc-L-k" / "densenet-L-k" for Huang et al.'s
     * CIFAR networks of any depth; "densenet" for other shapes.
     */
    public String name() {
        for (Map.Entry<String, DenseNetConfig> e : PRESETS.entrySet()) {
            if (e.getValue().withClasses(numClasses).withInChannels(inChannels).withDropout(dropout).equals(this)) return e.getKey();
        }
        if (stem == Stem.CIFAR && blockSizes.length == 3 && blockSizes[0] == blockSizes[1] && blockSizes[1] == blockSizes[2]) {
            int n = blockSizes[0];
            boolean bc = bnSize == 4 && compression == 0.5 && initFeatures == 2 * growthRate;
            boolean plain = bnSize == 0 && compression == 1.0 && initFeatures == 16;
            if (bc) return "densenet-bc-" + (6 * n + 4) + "-" + growthRate;
            if (plain) return "densenet-" + (3 * n + 4) + "-" + growthRate;
        }
        return "densenet";
    }

    /** BN layers in all: norm0 of an ImageNet stem, norm1 (and norm2 with a bottleneck) of every dense layer, each transition's, norm5. */
    int normLayers() {
        int n = stem == Stem.IMAGENET ? 1 : 0;
        for (int layers : blockSizes) n += layers * (bottleneckChannels() > 0 ? 2 : 1) + 1;
        return n;
    }

    /** Channels normalised by all BN layers together: the length of the running-mean (and running-var) buffers. */
    long normChannels() {
        long n = stem == Stem.IMAGENET ? initFeatures : 0;
        for (int b = 0; b < blockSizes.length; b++) {
            long c = blockInputChannels(b);
            for (int l = 0; l < blockSizes[b]; l++, c += growthRate) n += c + bottleneckChannels();
            n += c; // the transition's norm, or norm5 after the last block
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DenseNetConfig c && Arrays.equals(blockSizes, c.blockSizes) && growthRate == c.growthRate
                && bnSize == c.bnSize && Double.compare(compression, c.compression) == 0
                && Double.compare(dropout, c.dropout) == 0 && stem == c.stem && initFeatures == c.initFeatures
                && numClasses == c.numClasses && inChannels == c.inChannels;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(Arrays.hashCode(blockSizes), growthRate, bnSize, compression, dropout, stem,
                initFeatures, numClasses, inChannels);
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        parts.add("blocks " + Arrays.toString(blockSizes));
        parts.add("growth " + growthRate);
        parts.add(bnSize > 0 ? "bottleneck " + bnSize + "k" : "no bottleneck");
        parts.add("compression " + compression);
        if (dropout > 0) parts.add("dropout " + dropout);
        parts.add(stem + " stem, " + initFeatures + " initial features");
        parts.add(numClasses + " classes");
        parts.add(inChannels + " input channels");
        return "DenseNet(" + String.join(", ", parts) + ")";
    }
}
