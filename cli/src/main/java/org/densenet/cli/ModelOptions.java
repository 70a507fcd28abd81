package org.densenet.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.Weights;
import picocli.CommandLine.Option;

/** Which network: a preset by name, or a CIFAR-style DenseNet from depth and growth. Shared by train, eval and info. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "NAME",
            description = "Preset: densenet-40-12, densenet-bc-100-12, densenet-bc-250-24, densenet-bc-190-40, densenet121, "
                    + "densenet161, densenet169, densenet201, densenet264, or any densenet[-bc]-L-k. "
                    + "Default: densenet-bc-100-12 (densenet121 for ImageNet).")
    String preset;

    @Option(names = "--depth", paramLabel = "L", description = "Depth of a CIFAR-style DenseNet (3n+4, or 6n+4 with bottleneck) instead of a preset.")
    Integer depth;

    @Option(names = "--growth", paramLabel = "K", description = "Growth rate k with --depth (default: 12).")
    Integer growth;

    @Option(names = "--bottleneck", negatable = true,
            description = "With --depth: 1x1 bottleneck convolutions (DenseNet-B; default) or none (--no-bottleneck).")
    Boolean bottleneck;

    @Option(names = "--compression", paramLabel = "THETA",
            description = "With --depth: fraction of channels transitions keep (default: 0.5 with bottleneck, 1 without).")
    Double compression;

    @Option(names = "--dropout", paramLabel = "P",
            description = "Dropout after each dense layer's convolutions (paper: 0.2 for runs without augmentation; default: 0).")
    Double dropout;

    /** A name for folders and logs. */
    public record Resolved(String name, DenseNetConfig config) {
    }

    /**
     * The network for {@code classes} outputs and {@code channels} input channels; {@code defaultPreset}
     * when neither --model nor --depth is given.
     */
    public Resolved resolve(String defaultPreset, int classes, int channels) {
        String name;
        DenseNetConfig c;
        try {
            if (depth != null) {
                if (preset != null) throw new Main.UsageError("give either --model or --depth, not both");
                boolean b = bottleneck == null || bottleneck;
                int k = growth == null ? 12 : growth;
                double theta = compression != null ? compression : b ? 0.5 : 1.0;
                c = DenseNetConfig.cifar(depth, k, b, theta, dropout == null ? 0 : dropout, classes);
                name = "densenet-" + (b ? "b" : "") + (theta < 1 ? "c" : "") + (b || theta < 1 ? "-" : "") + depth + "-" + k;
            } else {
                for (String[] o : new String[][] {{"--growth", String.valueOf(growth)}, {"--compression", String.valueOf(compression)},
                        {"--bottleneck/--no-bottleneck", String.valueOf(bottleneck)}}) {
                    if (!o[1].equals("null")) throw new Main.UsageError(o[0] + " needs --depth (a preset fixes it)");
                }
                name = (preset != null ? preset : defaultPreset).strip().toLowerCase(Locale.ROOT);
                c = DenseNetConfig.preset(name);
                if (dropout != null) c = c.withDropout(dropout);
            }
            return new Resolved(name, c.withClasses(classes).withInChannels(channels));
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }

    /**
     * The network a weights file holds: the one its metadata describes (files written here), unless
     * --model or --depth names one, sized by the file's classifier and first convolution. A file
     * without a description (one written by PyTorch) needs the option.
     */
    Resolved forWeights(Path file, SafeTensors.Contents contents) throws IOException {
        Map<String, String> meta = contents.metadata();
        if (!given() && describes(meta)) return described(file, meta);
        if (!given()) {
            throw new Main.UsageError(file + " does not say which DenseNet it holds (no configuration in its metadata, as in files"
                    + " written by PyTorch); name it with --model or --depth");
        }
        return resolve("densenet-bc-100-12", shape(file, contents, "classifier.bias", 0), shape(file, contents, "features.conv0.weight", 1));
    }

    /** Whether a file's metadata describes its network (files written here do; PyTorch's do not). */
    static boolean describes(Map<String, String> meta) {
        return meta.containsKey("block_sizes");
    }

    /**
     * The network {@code file}'s metadata describes, under the training run's name when it has one.
     * A description that does not read is a fault of the file (exit status 1), not of the command line.
     */
    static Resolved described(Path file, Map<String, String> meta) throws IOException {
        try {
            DenseNetConfig c = Weights.readConfig(file, meta);
            return new Resolved(meta.getOrDefault("config.model", c.name()), c);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static int shape(Path file, SafeTensors.Contents contents, String key, int dim) throws IOException {
        HostTensor t = contents.tensors().get(key);
        if (t == null || t.rank() <= dim) throw new IOException(file + " has no " + key + ": not DenseNet weights under torchvision's names");
        return t.shape()[dim];
    }

    boolean given() {
        return preset != null || depth != null;
    }
}
