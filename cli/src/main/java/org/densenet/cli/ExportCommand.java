package org.densenet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.io.AtomicFile;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Weights;
import org.densenet.model.onnx.OnnxExport;
import org.densenet.train.Checkpoint;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Datasets;
import org.densenet.train.data.Normalization;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code densenet export}: a checkpoint or weights file as an ONNX model (the inference graph with
 * its weights, for ONNX runtimes) or as a plain weights file (the
 * network's tensors under torchvision's names, without the optimizer's state).
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Export weights (a checkpoint, a weights file, or a PyTorch/torchvision .pth) as an ONNX model"
                + " (inference graph and weights) or as a plain weights file without the optimizer's state.")
final class ExportCommand implements Callable<Integer> {
    enum Format {
        ONNX(".onnx"), SAFETENSORS(".safetensors");

        final String extension;

        Format(String extension) {
            this.extension = extension;
        }
    }

    @Option(names = "--weights", paramLabel = "FILE", required = true, description = "Checkpoint or weights: .safetensors, or PyTorch's .pth, .pt, .pth.tar (a PyTorch file needs --model).")
    Path weights;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Where to write (default: beside --weights, FILE.onnx, or FILE.weights.safetensors for --format safetensors).")
    Path output;

    @Option(names = "--format", paramLabel = "FMT",
            description = "onnx or safetensors (default: from the --output extension, else onnx).")
    String format;

    @Mixin
    ModelOptions model;

    @Option(names = "--normalize",
            description = "ONNX: build the dataset's per-channel normalisation into the graph, so that it takes pixel values in [0, 1]"
                    + " (default: the graph takes normalised images, as in training).")
    boolean normalize;

    @Option(names = "--dataset", paramLabel = "NAME",
            description = "The dataset the weights were trained on, for --normalize and the ONNX metadata (default: the checkpoint's).")
    String dataset;

    @Option(names = "--force", description = "Replace --output when it exists.")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Format fmt = format();
        Path out = output != null ? output : defaultOutput(fmt);
        model.resolve("densenet-bc-100-12", 10, 3);  // usage errors before any file is read
        if (!Files.isRegularFile(weights)) throw new IOException(weights + ": weights file not found");
        if (Files.exists(out) && Files.isSameFile(out, weights)) throw new Main.UsageError("--output is the --weights file itself: " + out);
        if (Files.exists(out) && !force) throw new Main.UsageError(out + " exists; pass --force to replace it");
        if (normalize && fmt != Format.ONNX) throw new Main.UsageError("--normalize applies to --format onnx");

        SafeTensors.Contents contents = Weights.readStateDict(weights);
        Map<String, String> meta = contents.metadata();
        Map<String, HostTensor> state = Checkpoint.weightsOnly(contents.tensors());
        ModelOptions.Resolved held = model.forWeights(weights, contents);
        String name = held.name();
        DenseNetConfig config = held.config();
        DatasetKind kind = datasetKind(meta);
        if (normalize && kind == null) {
            throw new Main.UsageError("--normalize needs the dataset's statistics: " + weights + " does not name its dataset; give --dataset");
        }

        // Loading into the network checks every name and shape, as training and eval would.
        Map<String, HostTensor> checked;
        try (CpuBackend cpu = new CpuBackend(1); DenseNet net = new DenseNet(config, cpu, MemoryMode.SHARED, 0)) {
            try {
                net.parameters().loadStateDict(state);
            } catch (IllegalArgumentException e) {
                throw new IOException(weights + " does not fit " + name + ": " + e.getMessage(), e);
            }
            checked = net.parameters().stateDict();
        }

        PrintWriter w = spec.commandLine().getOut();
        if (fmt == Format.SAFETENSORS) {
            Map<String, String> m = Weights.metadata(config);
            m.put("config.model", name);
            if (kind != null) m.put("config.dataset", kind.cliName());
            if (meta.containsKey(Checkpoint.CLASS_NAMES)) m.put(Checkpoint.CLASS_NAMES, meta.get(Checkpoint.CLASS_NAMES));
            SafeTensors.write(out, checked, m);
            w.printf(Locale.ROOT, "wrote %s (%s): %s, %,d parameters under torchvision's names, no optimizer state%n", out,
                    size(out), name, config.parameterCount());
        } else {
            Normalization stats = kind != null ? Datasets.normalization(kind) : null;
            if (stats != null && stats.mean().length != config.inChannels()) {
                if (normalize) {
                    throw new Main.UsageError(kind.cliName() + " images have " + stats.mean().length + " channels, " + name + " takes "
                            + config.inChannels());
                }
                stats = null;
            }
            Map<String, String> m = new LinkedHashMap<>();
            m.put("model", name);
            if (kind != null) m.put("dataset", kind.cliName());
            if (stats != null) {
                m.put("mean", join(stats.mean()));
                m.put("std", join(stats.std()));
            }
            m.put("input", normalize ? "pixel values in [0, 1], channels first; normalised inside the graph"
                    : "images normalised per channel as in training: (pixel in [0, 1] - mean) / std, channels first");
            m.put("output", "logits, before softmax");
            m.putAll(Weights.metadata(config));
            OnnxExport.Normalization inGraph = normalize ? new OnnxExport.Normalization(stats.mean(), stats.std()) : null;
            byte[] bytes = OnnxExport.toBytes(config, checked, new OnnxExport.Options(name, inGraph, m, version()));
            AtomicFile.write(out, bytes);
            w.printf(Locale.ROOT, "wrote %s (ONNX, opset %d, %s): %s, %,d parameters%n", out, OnnxExport.OPSET, size(out), name,
                    config.parameterCount());
            w.printf(Locale.ROOT, "  input  '%s' float [batch, %d, height, width]: %s%n", OnnxExport.INPUT, config.inChannels(),
                    normalize ? "pixel values in [0, 1] (" + kind.cliName() + "'s normalisation is in the graph)"
                            : stats != null ? "normalised with " + kind.cliName() + "'s mean " + m.get("mean") + " and std " + m.get("std")
                            : "normalised as in training");
            w.printf(Locale.ROOT, "  output '%s' float [batch, %d]: logits, before softmax%n", OnnxExport.OUTPUT, config.numClasses());
        }
        w.flush();
        return 0;
    }

    private Format format() {
        if (format != null) {
            try {
                Format f = Format.valueOf(format.strip().toUpperCase(Locale.ROOT));
                if (output != null && !output.getFileName().toString().endsWith(f.extension)) {
                    throw new Main.UsageError("--format " + format + " writes " + f.extension + " files; --output is " + output);
                }
                return f;
            } catch (IllegalArgumentException e) {
                throw new Main.UsageError("--format must be onnx or safetensors, got '" + format + "'");
            }
        }
        if (output == null) return Format.ONNX;
        String file = output.getFileName().toString().toLowerCase(Locale.ROOT);
        for (Format f : Format.values()) if (file.endsWith(f.extension)) return f;
        throw new Main.UsageError("cannot tell the format from " + output + ": name it .onnx or .safetensors, or give --format");
    }

    private Path defaultOutput(Format fmt) {
        String file = weights.getFileName().toString();
        String stem = file.endsWith(".safetensors") ? file.substring(0, file.length() - ".safetensors".length()) : file;
        return weights.resolveSibling(stem + (fmt == Format.ONNX ? ".onnx" : ".weights.safetensors"));
    }

    /** --dataset, else the checkpoint's, else null. */
    private DatasetKind datasetKind(Map<String, String> meta) throws IOException {
        String d = dataset != null ? dataset : meta.get("config.dataset");
        if (d == null || d.equals("auto")) return null;
        try {
            return DatasetKind.parse(d);
        } catch (IllegalArgumentException e) {
            if (dataset != null) throw new Main.UsageError(e.getMessage());
            throw new IOException(weights + ": its metadata names an unknown dataset: " + e.getMessage(), e);
        }
    }

    private static String join(double[] v) {
        return Arrays.stream(v).mapToObj(Double::toString).collect(Collectors.joining(","));
    }

    private static String size(Path file) throws IOException {
        long b = Files.size(file);
        return b >= 1 << 20 ? String.format(Locale.ROOT, "%.1f MB", b / 1048576.0) : String.format(Locale.ROOT, "%.1f KB", b / 1024.0);
    }

    private static String version() throws IOException {
        return new VersionProvider().getVersion()[0].replaceFirst("^densenet ", "");
    }
}
