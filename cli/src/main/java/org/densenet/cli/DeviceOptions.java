package org.densenet.cli;

import java.io.PrintStream;
import org.densenet.engine.Backend;
import org.densenet.cli.bench.BenchOptions;
import org.densenet.engine.Backends;
import org.densenet.engine.Precision;
import org.densenet.model.MemoryMode;
import org.densenet.train.data.DatasetKind;
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

    @Option(names = "--precision", paramLabel = "P", description = BenchOptions.PRECISION_HELP)
    String precision;

    @Option(names = "--tf32", description = BenchOptions.TF32_HELP)
    boolean tf32;

    @Option(names = "--cuda-graphs", paramLabel = "on|off", defaultValue = "on", description = BenchOptions.CUDA_GRAPHS_HELP)
    String cudaGraphs;

    @Option(names = {"-j", "--workers"}, paramLabel = "N",
            description = "Threads that read, decode and augment batches (default: ImageNet, whose JPEG decoding limits a GPU run, "
                    + "every core but one, at most 32; other datasets the number of cores, at most 8).")
    Integer workers;

    MemoryMode memoryMode() {
        try {
            return MemoryMode.parse(memory);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }

    int workerCount(DatasetKind kind) {
        if (workers != null && workers < 1) throw new Main.UsageError("--workers must be >= 1, got " + workers);
        return workers != null ? workers : defaultWorkers(kind, Runtime.getRuntime().availableProcessors());
    }

    /**
     * Loader threads when -j is not given. ImageNet's JPEG decoding runs at about 100 images/s a
     * thread (docs/BENCHMARKS.md, input pipeline), below what one GPU trains, so it gets every core
     * but the one that issues the GPU's work; the in-memory datasets need few.
     */
    static int defaultWorkers(DatasetKind kind, int cores) {
        return kind.isImageNet() ? Math.clamp(cores - 1, 1, 32) : Math.min(8, cores);
    }

    Precision precision() {
        return BenchOptions.precision(precision, tf32);
    }

    /** Whether --cuda-graphs says on. */
    boolean cudaGraphs() {
        return BenchOptions.cudaGraphs(cudaGraphs);
    }

    /** Checks the spelling of --device and --precision before any work starts. */
    void validate() {
        precision();
        BenchOptions.cudaGraphs(cudaGraphs);
        try {
            Backends.Spec.parse(device);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }

    Backend open(PrintStream notes) {
        return open(precision(), notes);
    }

    /** With the precision a resumed run keeps from its checkpoint unless the command line says otherwise. */
    Backend open(Precision p, PrintStream notes) {
        validate();
        return Backends.create(device, p, BenchOptions.cudaGraphs(cudaGraphs), notes);
    }
}
