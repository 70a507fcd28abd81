package org.densenet.cli;

import java.io.PrintStream;
import org.densenet.engine.Backend;
import org.densenet.engine.Backends;
import org.densenet.model.MemoryMode;
import picocli.CommandLine.Option;

/** Where and how the network runs. Shared by train and eval. */
final class DeviceOptions {
    @Option(names = "--device", paramLabel = "DEV", defaultValue = "auto",
            description = "auto (a GPU when one is usable, else the CPU), cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--memory", paramLabel = "MODE", defaultValue = "shared",
            description = "Dense-block memory: naive (concatenate, memory quadratic in depth), shared (memory-efficient; default) "
                    + "or recompute (shared, and bottleneck outputs recomputed in backward: least memory, one more 1x1 convolution per layer).")
    String memory;

    @Option(names = "--tf32", description = org.densenet.cli.bench.BenchOptions.TF32_HELP)
    boolean tf32;

    @Option(names = {"-j", "--workers"}, paramLabel = "N",
            description = "Threads that read, decode and augment batches (default: the number of cores, at most 8).")
    Integer workers;

    MemoryMode memoryMode() {
        try {
            return MemoryMode.parse(memory);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }

    int workerCount() {
        if (workers != null && workers < 1) throw new Main.UsageError("--workers must be >= 1, got " + workers);
        return workers != null ? workers : Math.min(8, Runtime.getRuntime().availableProcessors());
    }

    /** Checks the spelling of --device before any work starts. */
    void validate() {
        try {
            Backends.Spec.parse(device);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }

    Backend open(PrintStream notes) {
        validate();
        return Backends.create(device, tf32, notes);
    }
}
