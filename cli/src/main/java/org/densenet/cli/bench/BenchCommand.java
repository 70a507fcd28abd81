package org.densenet.cli.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code densenet bench}: kernel-level and model-level benchmarks, the same output on the CPU and on a GPU. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks on either backend: per-op times against the device's measured peaks (ops), "
                + "whole-step throughput and peak memory (step), peak memory against depth in every memory mode (memory), "
                + "the input pipeline's images per second (data), what cuDNN offers for 16-bit convolutions (probe-cudnn).",
                "Every run prints the device, driver and library versions, the commit and the date; --json and --csv are for scripts."},
        subcommands = {OpsCommand.class, StepCommand.class, MemoryCommand.class, DataCommand.class, ProbeCudnnCommand.class})
public final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "choose one of " + String.join(", ", spec.subcommands().keySet()));
    }
}
