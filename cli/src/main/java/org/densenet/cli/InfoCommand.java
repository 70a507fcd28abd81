package org.densenet.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.densenet.engine.DType;
import org.densenet.engine.Precision;
import org.densenet.engine.io.JsonCodec;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.MemoryPlanner;
import org.densenet.model.Stem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code densenet info}: size, cost and predicted training memory of a network, without running it. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Parameter count, FLOPs, a per-stage table and the predicted peak training memory in each memory mode.")
final class InfoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", defaultValue = "64", description = "Batch size for the memory prediction (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--image-size", paramLabel = "S", description = "Input side in pixels (default: 32 for CIFAR-style networks, 224 for ImageNet ones).")
    Integer imageSize;

    @Option(names = "--classes", paramLabel = "C", description = "Classifier outputs (default: 10 for CIFAR-style networks, 1000 for ImageNet ones).")
    Integer classes;

    @Option(names = "--channels", paramLabel = "C", defaultValue = "3", description = "Input channels (default: ${DEFAULT-VALUE}).")
    int channels;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fp32", description = "Precision of the memory prediction: fp32 and tf32"
            + " store activations in float32; bf16 and fp16 store them in 16 bits on a GPU, beside float32 weights and their 16-bit copy"
            + " (the CPU backend keeps float32 tensors in every precision) (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (batch < 1) throw new Main.UsageError("batch size must be >= 1, got " + batch);
        Precision p;
        try {
            p = Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError("--precision: " + e.getMessage());
        }
        DType activations = DType.activations(p);
        DenseNetConfig probe = model.resolve("densenet-bc-100-12", 10, channels).config();
        boolean imagenet = probe.stem() == Stem.IMAGENET;
        ModelOptions.Resolved r = model.resolve("densenet-bc-100-12", classes != null ? classes : imagenet ? 1000 : 10, channels);
        int size = imageSize != null ? imageSize : imagenet ? 224 : 32;
        ModelReport rep;
        try {
            rep = ModelReport.of(r.config(), size);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
        Map<MemoryMode, MemoryPlanner.Plan> memory = new LinkedHashMap<>();
        for (MemoryMode m : MemoryMode.values()) memory.put(m, MemoryPlanner.plan(r.config(), m, DType.F32, activations, batch, size, size, true));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(JsonCodec.write(toJson(r, rep, size, p, memory)));
        } else {
            print(out, r, rep, size, p, activations, memory);
        }
        out.flush();
        return 0;
    }

    private Map<String, Object> toJson(ModelOptions.Resolved r, ModelReport rep, int size, Precision precision,
                                       Map<MemoryMode, MemoryPlanner.Plan> memory) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("model", r.name());
        o.put("image_size", size);
        o.put("batch_size", batch);
        o.put("precision", precision.label());
        o.put("classes", r.config().numClasses());
        o.put("parameters", rep.parameters());
        o.put("macs", rep.macs());
        o.put("flops", 2 * rep.macs());
        List<Object> stages = new ArrayList<>();
        for (ModelReport.Stage s : rep.stages()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", s.name());
            m.put("layers", s.layers());
            m.put("in_channels", s.inChannels());
            m.put("out_channels", s.outChannels());
            m.put("out_size", s.outSize());
            m.put("parameters", s.parameters());
            m.put("macs", s.macs());
            stages.add(m);
        }
        o.put("stages", stages);
        Map<String, Object> mem = new LinkedHashMap<>();
        memory.forEach((m, p) -> {
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("total_bytes", p.totalBytes());
            b.put("activation_bytes", p.activationBytes());
            b.put("model_bytes", p.totalBytes() - p.activationBytes());
            mem.put(m.label(), b);
        });
        o.put("peak_training_memory", mem);
        return o;
    }

    private void print(PrintWriter out, ModelOptions.Resolved r, ModelReport rep, int size, Precision precision, DType activations,
                       Map<MemoryMode, MemoryPlanner.Plan> memory) {
        out.println(r.name() + ": " + r.config());
        out.printf(Locale.ROOT, "parameters  %,d (%.2fM)%n", rep.parameters(), rep.parameters() / 1e6);
        out.printf(Locale.ROOT, "FLOPs       %.3f G multiply-adds per %dx%d image (%.3f G floating-point operations)%n",
                rep.macs() / 1e9, size, size, 2 * rep.macs() / 1e9);
        out.println();
        out.printf(Locale.ROOT, "%-22s %6s %9s %9s %7s %12s %10s%n", "stage", "layers", "in ch", "out ch", "size", "parameters", "MMACs");
        for (ModelReport.Stage s : rep.stages()) {
            out.printf(Locale.ROOT, "%-22s %6d %9d %9d %7s %,12d %10.2f%n", s.name(), s.layers(), s.inChannels(), s.outChannels(),
                    s.outSize() + "x" + s.outSize(), s.parameters(), s.macs() / 1e6);
        }
        out.println();
        out.printf(Locale.ROOT, "predicted peak training memory, batch %d, %s:%n", batch, activations == DType.F32 ? precision.label() + ", float32"
                : precision.label() + " on a GPU, activations in 16 bits");
        out.printf(Locale.ROOT, "  %-9s %12s %12s %12s%n", "mode", "total MiB", "activations", "model+optim");
        List<MemoryMode> distinct = MemoryMode.distinctFor(r.config());
        memory.forEach((m, p) -> out.printf(Locale.ROOT, "  %-9s %12.1f %12.1f %12.1f%s%n", m.label(),
                mib(p.totalBytes()), mib(p.activationBytes()), mib(p.totalBytes() - p.activationBytes()),
                !distinct.contains(m) ? "  (as shared: no bottleneck layers to recompute)" : ""));
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }
}
