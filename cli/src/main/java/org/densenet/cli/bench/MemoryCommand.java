package org.densenet.cli.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.densenet.cli.Main;
import org.densenet.engine.Backend;
import org.densenet.model.DenseNetConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code densenet bench memory}: peak training memory against depth in every memory mode, printed and plotted. */
@Command(name = "memory", mixinStandardHelpOptions = true,
        description = {"Peak training memory against depth for CIFAR-style DenseNets in every memory mode (the figure of "
                + "Pleiss et al., arXiv 1707.06990): quadratic growth for naive dense blocks, linear for shared and recompute ones "
                + "(recompute for densenet-bc only: without bottleneck layers it is shared).",
                "Each point builds a fresh model and runs two training steps; the allocator's peak is counted from before "
                + "the model is built. The model's own prediction (as 'densenet info' gives it) is shown beside it.",
                "Each depth is checked against the device's memory first: the first one that would not fit ends the sweep, with a note."})
final class MemoryCommand implements Callable<Integer> {
    @Mixin
    BenchOptions common;

    @Option(names = "--model-family", paramLabel = "F", defaultValue = "densenet-bc",
            description = "densenet-bc (bottleneck, compression 0.5; depth 6n+4) or densenet (depth 3n+4) (default: ${DEFAULT-VALUE}).")
    String family;

    @Option(names = "--growth", paramLabel = "K", defaultValue = "12", description = "Growth rate k (default: ${DEFAULT-VALUE}).")
    int growth;

    @Option(names = "--depths", paramLabel = "L,...", split = ",", defaultValue = "40,100,160,250",
            description = "Depths to measure, ascending (default: ${DEFAULT-VALUE}).")
    int[] depths;

    @Option(names = "--plot", paramLabel = "PNG", defaultValue = "bench-memory.png", description = "Where to draw the plot (default: ${DEFAULT-VALUE}).")
    Path plot;

    @Option(names = "--no-plot", description = "Do not draw the plot.")
    boolean noPlot;

    @Override
    public Integer call() {
        boolean bottleneck = switch (family.strip().toLowerCase(Locale.ROOT)) {
            case "densenet-bc" -> true;
            case "densenet" -> false;
            default -> throw new Main.UsageError("--model-family must be densenet-bc or densenet, got '" + family + "'");
        };
        if (growth < 1) throw new Main.UsageError("growth rate must be >= 1, got " + growth);
        for (int i = 1; i < depths.length; i++) {
            if (depths[i] <= depths[i - 1]) throw new Main.UsageError("--depths must be ascending, got " + Arrays.toString(depths));
        }
        for (int d : depths) {
            try {
                DenseNetConfig.cifar(d, growth, bottleneck, bottleneck ? 0.5 : 1.0, 0, 10);
            } catch (IllegalArgumentException e) {
                throw new Main.UsageError(e.getMessage());
            }
        }
        Report.Format format = common.format();
        int batch = common.batch(), size = common.imageSize(32);
        String name = family.strip().toLowerCase(Locale.ROOT);
        try (Backend backend = common.open(System.err)) {
            RunInfo info = RunInfo.collect(backend);
            MemorySweep.Sweep sweep = MemorySweep.run(backend, bottleneck, growth, depths, batch, size, common.seed);
            Report report = MemorySweep.report(sweep, name, growth, batch, size, info);
            if (!noPlot) {
                try {
                    MemorySweep.plot(plot, sweep.points(), name, growth, batch, size);
                    report.note("plot", plot.toString(), "plot: " + plot.toAbsolutePath());
                } catch (IOException e) {
                    // The table is the result; a plot that cannot be drawn must not lose it.
                    report.note("plot", "", "plot: not written: " + e.getMessage());
                }
            }
            report.print(System.out, format);
        }
        return 0;
    }
}
