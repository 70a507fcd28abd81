package org.densenet.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;

/**
 * Model weights as safetensors files under torchvision's state-dict names: a torchvision DenseNet's
 * {@code state_dict()} saved with safetensors loads unchanged, and our files load in PyTorch with
 * {@code model.load_state_dict(safetensors.torch.load_file(path))}. Files we write also carry the
 * configuration in their metadata, so a model can be rebuilt from the file alone.
 */
public final class Weights {
    private Weights() {
    }

    /** Writes every parameter and buffer (running statistics, num_batches_tracked) and the configuration. */
    public static void save(DenseNet net, Path file) throws IOException {
        Map<String, String> meta = metadata(net.config());
        meta.put("dtype", net.dtype().name());
        SafeTensors.write(file, net.parameters().stateDict(), meta);
    }

    /** Loads a state dict file strictly (every key of the model, nothing else, same shapes); either float precision. */
    public static void load(DenseNet net, Path file) throws IOException {
        Map<String, HostTensor> state = SafeTensors.read(file);
        try {
            net.parameters().loadStateDict(state);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Any weights file a user may hold, as one state dict under this project's (torchvision's) names,
     * with the metadata the file carries (none for files written by PyTorch). Eval, export, predict and
     * {@code train --pretrained} all read weights through here.
     */
    public static SafeTensors.Contents readStateDict(Path file) throws IOException {
        return SafeTensors.load(file);
    }

    /** The configuration stored by {@link #save}, or an error saying the file has none (e.g. one written by PyTorch). */
    public static DenseNetConfig readConfig(Path file) throws IOException {
        return readConfig(file, SafeTensors.readMetadata(file));
    }

    /** As {@link #readConfig(Path)}, from the metadata of {@code file} already read; the file names it in errors. */
    public static DenseNetConfig readConfig(Path file, Map<String, String> m) {
        if (!m.containsKey("block_sizes")) {
            throw new IllegalArgumentException(file + " does not say which DenseNet it holds (no configuration in its metadata,"
                    + " as in files written by PyTorch); name the model explicitly");
        }
        try {
            String[] parts = m.get("block_sizes").split(",");
            int[] blocks = new int[parts.length];
            for (int i = 0; i < parts.length; i++) blocks[i] = Integer.parseInt(parts[i].strip());
            return new DenseNetConfig(blocks, Integer.parseInt(m.get("growth_rate")), Integer.parseInt(m.get("bn_size")),
                    Double.parseDouble(m.get("compression")), Double.parseDouble(m.get("dropout")), Stem.valueOf(m.get("stem")),
                    Integer.parseInt(m.get("init_features")), Integer.parseInt(m.get("num_classes")),
                    Integer.parseInt(m.get("in_channels")));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + " has an unreadable model configuration in its metadata: " + e.getMessage(), e);
        }
    }

    /** The configuration as string metadata (the same keys the reference fixtures use). */
    public static Map<String, String> metadata(DenseNetConfig c) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("stem", c.stem().name());
        m.put("block_sizes", String.join(",", Arrays.stream(c.blockSizes()).mapToObj(Integer::toString).toList()));
        m.put("growth_rate", Integer.toString(c.growthRate()));
        m.put("bn_size", Integer.toString(c.bnSize()));
        m.put("compression", Double.toString(c.compression()));
        m.put("init_features", Integer.toString(c.initFeatures()));
        m.put("num_classes", Integer.toString(c.numClasses()));
        m.put("in_channels", Integer.toString(c.inChannels()));
        m.put("dropout", Double.toString(c.dropout()));
        m.put("parameter_count", Long.toString(c.parameterCount()));
        return m;
    }
}
