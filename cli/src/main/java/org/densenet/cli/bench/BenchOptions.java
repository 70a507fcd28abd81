package org.densenet.cli.bench;

import java.io.PrintStream;
import org.densenet.cli.Main;
import org.densenet.engine.Backend;
import org.densenet.engine.Backends;
import org.densenet.engine.Precision;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options every bench subcommand takes: where it runs, the batch shape, the seed and the output form. */
public final class BenchOptions {
    /** The help of {@code --precision}, here and in train, eval and predict. */
    public static final String PRECISION_HELP = "fp32 (default: float32 math, reproducible), tf32 (cuDNN and cuBLAS round convolution and"
            + " matrix-product inputs to TF32 on Ampere and newer GPUs, PyTorch's default for convolutions: faster, about 1e-3 relative"
            + " difference; no effect on the CPU), bf16 or fp16 (activations and their gradients stored in 16 bits, float32 math and"
            + " master weights; fp16 with loss scaling; on a GPU unverified so far, run on an emulated one only; on the CPU as the"
            + " twin of the GPU path, no faster than fp32).";
    /** The help of {@code --tf32}, the older spelling of {@code --precision tf32}. */
    public static final String TF32_HELP = "Same as --precision tf32.";

    /** The help of {@code --cuda-graphs}, here and in train and eval. */
    public static final String CUDA_GRAPHS_HELP = "on: capture each step (forward, loss, backward, update) as a CUDA graph after one"
            + " warm-up step and replay it, one launch instead of about a thousand; off: issue every op each step. Results are the same."
            + " With --gpus each GPU's step is captured with its all-reduces (unverified on a GPU so far). Default: ${DEFAULT-VALUE}."
            + " No effect on the CPU.";

    @Option(names = "--device", paramLabel = "DEV", defaultValue = "auto",
            description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}: the GPU when one is usable).")
    String device;

    @Option(names = "--precision", paramLabel = "P", description = PRECISION_HELP)
    String precision;

    @Option(names = "--tf32", description = TF32_HELP)
    boolean tf32;

    /** --precision, with --tf32 as its alias; giving both with different meanings is a usage error. */
    public static Precision precision(String precision, boolean tf32) {
        Precision p;
        try {
            p = precision == null ? (tf32 ? Precision.TF32 : Precision.FP32) : Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
        if (tf32 && p != Precision.TF32) throw new Main.UsageError("--tf32 means --precision tf32; it contradicts --precision " + p.label());
        return p;
    }

    Precision precision() {
        return precision(precision, tf32);
    }

    @Option(names = "--cuda-graphs", paramLabel = "on|off", defaultValue = "on", description = CUDA_GRAPHS_HELP)
    String cudaGraphs;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", defaultValue = "64", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--image-size", paramLabel = "S",
            description = "Input side in pixels (default: 32 for CIFAR-style networks, 224 for ImageNet ones).")
    Integer imageSize;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the weights and the random inputs (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    OutputOptions output;

    Report.Format format() {
        return output.format();
    }

    int batch() {
        if (batch < 1) throw new Main.UsageError("batch size must be >= 1, got " + batch);
        return batch;
    }

    int imageSize(int defaultSize) {
        int s = imageSize != null ? imageSize : defaultSize;
        if (s < 1) throw new Main.UsageError("image size must be >= 1, got " + s);
        return s;
    }

    /** The value of {@code --cuda-graphs}: on or off. */
    public static boolean cudaGraphs(String value) {
        return switch (value) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new Main.UsageError("--cuda-graphs takes on or off, got '" + value + "'");
        };
    }

    /** Opens the backend; a fallback from "auto" to the CPU is said on {@code notes}. */
    Backend open(PrintStream notes) {
        try {
            return Backends.create(device, precision(), cudaGraphs(cudaGraphs), notes);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }
}
