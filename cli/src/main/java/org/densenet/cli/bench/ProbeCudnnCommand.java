package org.densenet.cli.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.densenet.cli.Main;
import org.densenet.engine.Backends;
import org.densenet.engine.cuda.ConvProblem;
import org.densenet.engine.cuda.CudnnProbe;
import org.densenet.model.ConvShapes;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.Stem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code densenet bench probe-cudnn}: what cuDNN offers for the networks' convolutions in FP16 and BF16, NCHW and NHWC. */
@Command(name = "probe-cudnn", mixinStandardHelpOptions = true,
        description = {"For the convolutions of each network (distinct shapes, a few layers per block), in FP16 and BF16, NCHW and NHWC, "
                + "packed and as channel slices of the dense block's storage (channel offsets padded to --align): which algorithms "
                + "cuDNN's heuristics offer, which run (cudnnFind*AlgorithmEx), and the fastest one's time against FP32 as the "
                + "engine runs it now. Needs a GPU; cuDNN's graph API is not bound, so only the legacy API is probed.",
                "Stops starting new shapes after --budget-s seconds; the rest are listed as not probed."})
final class ProbeCudnnCommand implements Callable<Integer> {
    @Option(names = "--device", paramLabel = "DEV", defaultValue = "cuda", description = "cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--model", paramLabel = "M,...", split = ",", defaultValue = "densenet121,densenet-bc-100-12",
            description = "Networks whose convolutions to probe (default: ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", defaultValue = "64", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--image-size", paramLabel = "S",
            description = "Input side in pixels (default: 32 for CIFAR-style networks, 224 for ImageNet ones).")
    Integer imageSize;

    @Option(names = "--layers-per-block", paramLabel = "N", defaultValue = "3",
            description = "Dense layers probed per block, first to last evenly spread; 0: every layer (default: ${DEFAULT-VALUE}).")
    int layersPerBlock;

    @Option(names = "--align", paramLabel = "C", defaultValue = "8",
            description = "Channel offsets of the slices are multiples of this (8 channels: 16 bytes in 16 bits) (default: ${DEFAULT-VALUE}).")
    int align;

    @Option(names = "--budget-s", paramLabel = "S", defaultValue = "80",
            description = "Seconds after which no further shape is started (default: ${DEFAULT-VALUE}).")
    double budget;

    @Option(names = "--save", paramLabel = "JSON", description = "Also write the report as JSON to this file, whatever form is printed.")
    Path save;

    @Mixin
    OutputOptions output;

    @Override
    public Integer call() {
        Report.Format format = output.format();
        if (batch < 1) throw new Main.UsageError("batch size must be >= 1, got " + batch);
        if (layersPerBlock < 0) throw new Main.UsageError("--layers-per-block must be >= 0, got " + layersPerBlock);
        if (align < 1) throw new Main.UsageError("--align must be >= 1, got " + align);
        if (!(budget > 0)) throw new Main.UsageError("--budget-s must be > 0, got " + budget);
        int ordinal = ordinal();
        List<List<ConvProblem>> perModel = new ArrayList<>();
        for (String m : models) {
            DenseNetConfig cfg;
            try {
                cfg = DenseNetConfig.preset(m);
                int size = imageSize != null ? imageSize : cfg.stem() == Stem.CIFAR ? 32 : 224;
                perModel.add(ConvShapes.of(m.strip(), cfg, batch, size, align, layersPerBlock));
            } catch (IllegalArgumentException e) {
                throw new Main.UsageError(e.getMessage());
            }
        }
        List<ConvProblem> problems = ConvShapes.interleave(perModel);
        try (CudnnProbe probe = CudnnProbe.open(ordinal)) {
            RunInfo info = RunInfo.collect(probe.deviceName(), probe.versions());
            CudnnProbe.Outcome outcome = probe.run(problems, (long) (budget * 1e9), line -> System.err.println("probing " + line));
            String what = String.join(", ", models);
            // every algorithm's entry goes to scripts only: as text it would be thousands of lines
            Report report = ProbeReport.of(outcome, problems.size(), info, what, batch, align, format != Report.Format.TEXT);
            if (save != null) {
                try {
                    Files.writeString(save, ProbeReport.of(outcome, problems.size(), info, what, batch, align, true).toJson() + "\n");
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write " + save + ": " + e.getMessage(), e);
                }
            }
            report.print(System.out, format);
        }
        return 0;
    }

    private int ordinal() {
        Backends.Spec spec;
        try {
            spec = Backends.Spec.parse(device);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
        return switch (spec.kind()) {
            case CPU -> throw new Main.UsageError("probe-cudnn measures cuDNN on a GPU: give --device cuda or cuda:N");
            case AUTO, CUDA -> spec.index();
        };
    }
}
