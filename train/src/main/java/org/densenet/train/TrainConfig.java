package org.densenet.train;

import java.nio.file.Path;
import org.densenet.engine.Precision;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Weights;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Decoding;

/**
 * Everything that defines a training run, resolved (no defaults left to apply). It is written into
 * every checkpoint (the network as {@link Weights} writes it, the rest as {@code config.*} entries), so {@code --resume} continues with exactly these settings, and into the run
 * folder as the record of what ran.
 *
 * @param modelName   preset name, or a description of a custom network (for logs and folder names)
 * @param dataDir     null for the dataset's default folder
 * @param imageSize   side of the synthetic images (other datasets have their own size)
 * @param workers     loader threads
 * @param decoding    how ImageNet's files are decoded (the other datasets ignore it)
 * @param maxSteps    stop after this many optimizer steps in all, saving a checkpoint (0: run to the end)
 * @param pretrained  the weights file the run started from ("" for none), recorded so a checkpoint says where its weights came from
 * @param syncBatchNorm data-parallel batch norm over every rank's batch (--sync-bn) instead of each rank's own
 */
public record TrainConfig(String modelName, DenseNetConfig model, MemoryMode memory,
                          DatasetKind dataset, Path dataDir, boolean download, boolean augment, int imageSize,
                          int batchSize, LrSchedule schedule, double momentum, double weightDecay, boolean nesterov,
                          long seed, String device, int workers, Decoding decoding, Path output, long maxSteps, String pretrained,
                          Precision precision, boolean syncBatchNorm) {
    /** A run with per-device batch statistics (no --sync-bn). */
    public TrainConfig(String modelName, DenseNetConfig model, MemoryMode memory, DatasetKind dataset, Path dataDir, boolean download,
                       boolean augment, int imageSize, int batchSize, LrSchedule schedule, double momentum, double weightDecay,
                       boolean nesterov, long seed, String device, int workers, Decoding decoding, Path output, long maxSteps,
                       String pretrained, Precision precision) {
        this(modelName, model, memory, dataset, dataDir, download, augment, imageSize, batchSize, schedule, momentum, weightDecay, nesterov,
                seed, device, workers, decoding, output, maxSteps, pretrained, precision, false);
    }

    public TrainConfig {
        pretrained = pretrained == null ? "" : pretrained;
        if (precision == null) throw new IllegalArgumentException("precision must be given (fp32, tf32, bf16 or fp16)");
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        if (!(momentum >= 0 && momentum < 1)) throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        if (nesterov && momentum == 0) throw new IllegalArgumentException("Nesterov momentum needs momentum > 0 (use --no-nesterov)");
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        if (workers < 1) throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        if (decoding == null) throw new IllegalArgumentException("a training run needs a decoding (Decoding.DEFAULT)");
        if (maxSteps < 0) throw new IllegalArgumentException("max steps must be >= 0, got " + maxSteps);
        if (imageSize < 8) throw new IllegalArgumentException("image size must be >= 8, got " + imageSize);
    }

    public int epochs() {
        return schedule.epochs();
    }

    /** The same run with {@code n} loader threads (a data-parallel rank's share of the process's). */
    public TrainConfig withWorkers(int n) {
        return new TrainConfig(modelName, model, memory, dataset, dataDir, download, augment, imageSize, batchSize, schedule, momentum,
                weightDecay, nesterov, seed, device, n, decoding, output, maxSteps, pretrained, precision, syncBatchNorm);
    }

    /** The same run with batch norm over every rank's batch when {@code on}. */
    public TrainConfig withSyncBatchNorm(boolean on) {
        return new TrainConfig(modelName, model, memory, dataset, dataDir, download, augment, imageSize, batchSize, schedule, momentum,
                weightDecay, nesterov, seed, device, workers, decoding, output, maxSteps, pretrained, precision, on);
    }

    /** The settings as flat key/value text, for checkpoint metadata and the run folder. */
    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", modelName);
        Weights.metadata(model).forEach((k, v) -> m.put("model." + k, v));
        m.put("memory", memory.label());
        m.put("dataset", dataset.cliName());
        m.put("data", dataDir == null ? "" : dataDir.toString());
        m.put("download", Boolean.toString(download));
        m.put("augment", Boolean.toString(augment));
        m.put("image_size", Integer.toString(imageSize));
        m.put("batch_size", Integer.toString(batchSize));
        m.put("epochs", Integer.toString(schedule.epochs()));
        m.put("schedule", schedule.kind().cliName());
        m.put("lr", Double.toString(schedule.baseLr()));
        m.put("milestones", join(schedule.milestones()));
        m.put("gamma", Double.toString(schedule.gamma()));
        m.put("warmup_epochs", Double.toString(schedule.warmupEpochs()));
        m.put("momentum", Double.toString(momentum));
        m.put("weight_decay", Double.toString(weightDecay));
        m.put("nesterov", Boolean.toString(nesterov));
        m.put("seed", Long.toString(seed));
        m.put("device", device);
        m.put("workers", Integer.toString(workers));
        m.put("decoder", decoding.decoder().cliName());
        m.put("exact_decode", Boolean.toString(decoding.exact()));
        m.put("output", output.toString());
        m.put("max_steps", Long.toString(maxSteps));
        m.put("pretrained", pretrained);
        m.put("precision", precision.label());
        m.put("sync_bn", Boolean.toString(syncBatchNorm));
        return m;
    }

    /**
     * Reads what {@link #toMap()} wrote, with the network read separately (a checkpoint stores it the
     * way {@link Weights} does); a missing or malformed entry names the key.
     */
    public static TrainConfig fromMap(Map<String, String> m, DenseNetConfig model) {
        Fields f = new Fields(m);
        LrSchedule schedule = new LrSchedule(LrSchedule.Kind.parse(f.text("schedule")), f.real("lr"), f.integer("epochs"),
                f.ints("milestones"), f.real("gamma"), f.real("warmup_epochs"));
        String data = f.text("data");
        // Checkpoints written before the decoder could be chosen decoded as the default does now.
        Decoding decoding = m.containsKey("decoder")
                ? new Decoding(Decoding.Decoder.parse(f.text("decoder")), f.bool("exact_decode")) : Decoding.DEFAULT;
        return new TrainConfig(f.text("model"), model, MemoryMode.parse(f.text("memory")), DatasetKind.parse(f.text("dataset")),
                data.isEmpty() ? null : Path.of(data), f.bool("download"), f.bool("augment"), f.integer("image_size"),
                f.integer("batch_size"), schedule, f.real("momentum"), f.real("weight_decay"), f.bool("nesterov"),
                f.longValue("seed"), f.text("device"), f.integer("workers"), decoding, Path.of(f.text("output")), f.longValue("max_steps"),
                m.getOrDefault("pretrained", ""),  // absent before --pretrained existed
                Precision.parse(m.getOrDefault("precision", "fp32")),  // absent before --precision existed: float32
                m.containsKey("sync_bn") && f.bool("sync_bn"));  // absent before --sync-bn existed: per-GPU statistics
    }

    private static String join(int[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) sb.append(i > 0 ? "," : "").append(v[i]);
        return sb.toString();
    }

    /** Typed access to a flat map, with errors that name the key. */
    static final class Fields {
        private final Map<String, String> m;

        Fields(Map<String, String> m) {
            this.m = m;
        }

        String text(String key) {
            String v = m.get(key);
            if (v == null) throw new IllegalArgumentException("checkpoint has no '" + key + "' entry");
            return v;
        }

        int integer(String key) {
            return (int) longValue(key);
        }

        long longValue(String key) {
            try {
                return Long.parseLong(text(key));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("checkpoint entry '" + key + "' is not an integer: " + m.get(key));
            }
        }

        double real(String key) {
            try {
                return Double.parseDouble(text(key));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("checkpoint entry '" + key + "' is not a number: " + m.get(key));
            }
        }

        boolean bool(String key) {
            String v = text(key);
            if (!v.equals("true") && !v.equals("false")) throw new IllegalArgumentException("checkpoint entry '" + key + "' is not true/false: " + v);
            return v.equals("true");
        }

        int[] ints(String key) {
            String v = text(key);
            if (v.isEmpty()) return new int[0];
            try {
                return Arrays.stream(v.split(",")).mapToInt(s -> Integer.parseInt(s.strip())).toArray();
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("checkpoint entry '" + key + "' is not a list of integers: " + v);
            }
        }
    }
}
