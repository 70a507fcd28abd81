package org.densenet.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.densenet.engine.io.TensorFileFormat;
import org.densenet.engine.io.TorchFile;

/**
 * Model weights as safetensors files under torchvision's state-dict names: a torchvision DenseNet's
 * {@code state_dict()} saved with safetensors loads unchanged, and our files load in PyTorch with
 * {@code model.load_state_dict(safetensors.torch.load_file(path))}. Files we write also carry the
 * configuration in their metadata, so a model can be rebuilt from the file alone. PyTorch's own
 * files ({@code torch.save}) are read too, with the names mapped as torchvision maps them.
 */
public final class Weights {
    /** Where training scripts keep the weights inside a checkpoint dict: PyTorch's ImageNet example and timm, then DeiT-style files. */
    private static final List<String> WRAPPER_KEYS = List.of("state_dict", "model");
    /** torchvision's densenet._load_state_dict: names from before torchvision 0.3 had "norm.1" where it now has "norm1". */
    private static final Pattern LEGACY_LAYER_NAME =
            Pattern.compile("^(.*denselayer\\d+\\.(?:norm|relu|conv))\\.((?:[12])\\.(?:weight|bias|running_mean|running_var))$");
    /** What DataParallel and DistributedDataParallel put before every name of the model they wrap. */
    private static final String DATA_PARALLEL_PREFIX = "module.";

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
        Map<String, HostTensor> state = readStateDict(file).tensors();
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
     *
     * <p>Safetensors files, and PyTorch's {@code .pth}/{@code .pt}/{@code .pth.tar} in both of
     * torch.save's formats, told apart by content. From PyTorch files: a state dict, or a checkpoint
     * dict holding one under {@code state_dict} or {@code model}. Names lose DataParallel's
     * {@code module.} prefix and torchvision's legacy layer names are mapped ({@link #torchvisionNames}).
     */
    public static SafeTensors.Contents readStateDict(Path file) throws IOException {
        return switch (TensorFileFormat.of(file)) {
            case SAFETENSORS -> {
                SafeTensors.Contents c = SafeTensors.load(file);
                yield new SafeTensors.Contents(torchvisionNames(c.tensors()), c.metadata());
            }
            case TORCH_ZIP, TORCH_LEGACY -> new SafeTensors.Contents(torchvisionNames(stateDictIn(file, TorchFile.load(file))), Map.of());
        };
    }

    /**
     * The state dict in what {@code torch.load} returned: the object itself when it is a dict of tensors,
     * else the dict of tensors under the first of {@link #WRAPPER_KEYS} that holds one.
     */
    static Map<String, HostTensor> stateDictIn(Path file, Object loaded) throws IOException {
        Map<String, HostTensor> state = asStateDict(loaded);
        if (state != null) return state;
        if (loaded instanceof Map<?, ?> m) {
            for (String key : WRAPPER_KEYS) {
                state = asStateDict(m.get(key));
                if (state != null) return state;
            }
            List<String> keys = m.keySet().stream().map(String::valueOf).toList();
            throw new IOException(file + " holds a dict with keys " + (keys.size() > 12 ? keys.subList(0, 12) + " ..." : keys)
                    + " but no state dict (a dict of tensors), neither itself nor under " + String.join(" or ", WRAPPER_KEYS));
        }
        throw new IOException(file + " holds " + (loaded instanceof HostTensor ? "a single tensor" : loaded instanceof List<?> ? "a list"
                : loaded == null ? "None" : "a " + loaded.getClass().getSimpleName()) + ", not a state dict (a dict of tensors)");
    }

    private static Map<String, HostTensor> asStateDict(Object o) {
        if (!(o instanceof Map<?, ?> m) || m.isEmpty()) return null;
        Map<String, HostTensor> state = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getKey() instanceof String k) || !(e.getValue() instanceof HostTensor t)) return null;
            state.put(k, t);
        }
        return state;
    }

    /**
     * The names of a state dict as this project (and torchvision today) uses them: without the
     * {@code module.} prefix of a DataParallel or DistributedDataParallel model, and with torchvision's
     * legacy layer names ({@code denselayer1.norm.1.weight}) as its {@code _load_state_dict} maps them
     * ({@code denselayer1.norm1.weight}). Other names and the order are kept.
     */
    public static Map<String, HostTensor> torchvisionNames(Map<String, HostTensor> state) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : state.entrySet()) {
            String k = e.getKey();
            if (k.startsWith(DATA_PARALLEL_PREFIX)) k = k.substring(DATA_PARALLEL_PREFIX.length());
            Matcher m = LEGACY_LAYER_NAME.matcher(k);
            if (m.matches()) k = m.group(1) + m.group(2);
            out.put(k, e.getValue());
        }
        return out;
    }

    /** The configuration stored by {@link #save}, or an error saying the file has none (e.g. one written by PyTorch). */
    public static DenseNetConfig readConfig(Path file) throws IOException {
        Map<String, String> meta = TensorFileFormat.of(file) == TensorFileFormat.SAFETENSORS ? SafeTensors.readMetadata(file) : Map.of();
        return readConfig(file, meta);
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
