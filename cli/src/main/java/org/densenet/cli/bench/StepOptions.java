package org.densenet.cli.bench;

import org.densenet.cli.Main;
import org.densenet.cli.ModelOptions;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Stem;
import picocli.CommandLine.Option;

/** How a training-step benchmark repeats: memory mode, warm-up, timed repeats, rotated input batches. */
public final class StepOptions {
    @Option(names = "--memory", paramLabel = "MODE", defaultValue = "shared",
            description = "Dense-block memory mode: naive (concatenation and BN output per layer), shared, or recompute (shared, and "
                    + "bottleneck outputs recomputed in backward) (default: ${DEFAULT-VALUE}).")
    String memory;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "Untimed steps first (default: ${DEFAULT-VALUE}; with CUDA graphs at least two per input batch, so that every batch's step is captured before the timing).")
    int warmup;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "10", description = "Timed steps; medians are reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--batches", paramLabel = "N", defaultValue = "4",
            description = "Random input batches used in turn, so no step re-reads the last one's input from cache (default: ${DEFAULT-VALUE}).")
    int batches;

    MemoryMode mode() {
        try {
            return MemoryMode.parse(memory);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError("--memory: " + e.getMessage());
        }
    }

    Workload workload(ModelOptions model, BenchOptions common) {
        // the classifier as the network was designed: 10 classes for CIFAR-style networks, 1000 for ImageNet ones
        DenseNetConfig probe = model.resolve("densenet-bc-100-12", 10, 3).config();
        int classes = probe.stem() == Stem.IMAGENET ? 1000 : 10;
        ModelOptions.Resolved r = model.resolve("densenet-bc-100-12", classes, 3);
        try {
            return new Workload(r.name(), r.config(), mode(), common.batch(), common.imageSize(Workload.defaultImageSize(r.config())),
                    warmup, repeats, batches, common.seed);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }
}
