package org.densenet.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.Weights;
import org.densenet.train.data.ClassNames;

/**
 * A training checkpoint: one safetensors file holding the model's weights under torchvision's
 * names, the optimizer's momentum buffer as {@value #MOMENTUM}, and in its metadata the run's
 * settings ({@link TrainConfig}), its position ({@link TrainState}) and the random-stream
 * positions. The network's configuration is stored as {@link Weights} stores it, so
 * {@code Weights.readConfig} reads it from a checkpoint too. Written atomically (temporary file, fsync, rename) by {@link SafeTensors#write}.
 * The names of the dataset's classes (null where it has none) are kept as {@value #CLASS_NAMES}, for {@code densenet predict}.
 * Loading the weights into PyTorch: drop the keys that start with {@value #OPTIMIZER_PREFIX}.
 * An FP16 run's loss scaler ({@link LossScaler.Saved}) is kept in the metadata too, so that it resumes
 * with the scale it stopped at; {@code scaler} is null for runs without one and for older checkpoints.
 */
public record Checkpoint(TrainConfig config, TrainState state, Map<String, HostTensor> weights, float[] momentum, List<String> classNames,
                         LossScaler.Saved scaler) {
    public static final String FORMAT = "densenet-checkpoint/1";
    public static final String OPTIMIZER_PREFIX = "optimizer.";
    public static final String MOMENTUM = OPTIMIZER_PREFIX + "momentum_buffer";
    /** Metadata key of the class names, one a line; weights files written by export keep it. */
    public static final String CLASS_NAMES = "class_names";

    /** A checkpoint of a run without loss scaling. */
    public Checkpoint(TrainConfig config, TrainState state, Map<String, HostTensor> weights, float[] momentum, List<String> classNames) {
        this(config, state, weights, momentum, classNames, null);
    }

    public void save(Path file) throws IOException {
        Map<String, HostTensor> tensors = new LinkedHashMap<>(weights);
        tensors.put(MOMENTUM, HostTensor.ofF32(momentum, momentum.length));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.putAll(Weights.metadata(config.model()));
        config.toMap().forEach((k, v) -> meta.put("config." + k, v));
        meta.putAll(state.toMap());
        if (scaler != null) meta.putAll(scaler.toMap());
        if (classNames != null) meta.put(CLASS_NAMES, ClassNames.join(classNames));
        // Sample order, augmentation and dropout are counter-based: these are their streams' keys and positions.
        meta.put("rng.seed", Long.toString(config.seed()));
        meta.put("rng.shuffle_epoch", Integer.toString(state.epoch()));
        meta.put("rng.dropout_seed", Long.toString(config.seed()));
        meta.put("rng.dropout_step", Long.toString(state.globalStep()));
        SafeTensors.write(file, tensors, meta);
    }

    public static Checkpoint load(Path file) throws IOException {
        SafeTensors.Contents c = SafeTensors.load(file);
        Map<String, String> meta = c.metadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw new IOException(file + ": not a training checkpoint (metadata format is " + meta.get("format") + ", expected "
                    + FORMAT + "); a weights-only file can be evaluated with 'densenet eval' but not resumed");
        }
        Map<String, String> cfg = new LinkedHashMap<>();
        meta.forEach((k, v) -> {
            if (k.startsWith("config.")) cfg.put(k.substring("config.".length()), v);
        });
        HostTensor mom = c.tensors().get(MOMENTUM);
        if (mom == null) throw new IOException(file + ": checkpoint has no " + MOMENTUM + " tensor");
        try {
            return new Checkpoint(TrainConfig.fromMap(cfg, Weights.readConfig(file, meta)), TrainState.fromMap(meta),
                    weightsOnly(c.tensors()), mom.toFloatArray(), ClassNames.split(meta.get(CLASS_NAMES)), LossScaler.Saved.fromMap(meta));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /** The model's tensors of a checkpoint or weights file (optimizer entries removed). */
    public static Map<String, HostTensor> weightsOnly(Map<String, HostTensor> tensors) {
        Map<String, HostTensor> w = new LinkedHashMap<>();
        tensors.forEach((k, v) -> {
            if (!k.startsWith(OPTIMIZER_PREFIX)) w.put(k, v);
        });
        return w;
    }
}
