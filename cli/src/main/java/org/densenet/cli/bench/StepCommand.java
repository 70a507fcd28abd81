package org.densenet.cli.bench;

import java.util.List;
import java.util.concurrent.Callable;
import org.densenet.cli.ModelOptions;
import org.densenet.engine.Backend;
import org.densenet.model.MemoryMode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code densenet bench step}: steps and images per second, inference and training, with peak memory. */
@Command(name = "step", mixinStandardHelpOptions = true,
        description = {"Whole steps per second and images per second, for an inference forward and for a training step "
                + "(forward, loss, backward, SGD update), with the peak memory of each.",
                "Columns match scripts/bench/pytorch_step.py, the PyTorch peer of this benchmark."})
final class StepCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BenchOptions common;

    @Mixin
    StepOptions stepOptions;

    @Option(names = "--compare-memory", description = "Run both memory modes (naive, then shared) side by side; --memory is then ignored.")
    boolean compare;

    @Override
    public Integer call() {
        Workload w = stepOptions.workload(model, common);
        Report.Format format = common.format();
        List<MemoryMode> modes = compare ? List.of(MemoryMode.NAIVE, MemoryMode.SHARED) : List.of(w.mode());
        try (Backend backend = common.open(System.err)) {
            StepBench.run(backend, w, modes, RunInfo.collect(backend)).print(System.out, format);
        }
        return 0;
    }
}
