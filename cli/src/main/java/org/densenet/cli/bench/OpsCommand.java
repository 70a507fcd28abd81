package org.densenet.cli.bench;

import java.util.concurrent.Callable;
import org.densenet.cli.ModelOptions;
import org.densenet.engine.Backend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code densenet bench ops}: one training step broken down per op, grouped by dense block. */
@Command(name = "ops", mixinStandardHelpOptions = true,
        description = {"One training step broken down per op (convolutions, batch norm, BN-ReLU, pooling, linear, loss, SGD), "
                + "grouped by scope (fwd/bwd and dense block or transition), with the median time over the repeats, FLOPs, "
                + "minimum bytes, and the achieved rates against the device's peaks measured in the same run "
                + "(a large copy for bandwidth, a large 1x1 convolution for arithmetic).",
                "Profiled and unprofiled steps alternate; the summary gives both step times and the sum of the op times."})
final class OpsCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    BenchOptions common;

    @Mixin
    StepOptions stepOptions;

    @Option(names = "--per-call", description = "One row per op call, with its shapes, instead of one per op and scope.")
    boolean perCall;

    @Override
    public Integer call() {
        Workload w = stepOptions.workload(model, common);
        Report.Format format = common.format();
        try (Backend backend = common.open(System.err)) {
            RunInfo info = RunInfo.collect(backend);
            Peaks peaks = Peaks.measure(backend, Peaks.sizesFor(backend), w.seed());
            OpsBench.run(backend, w, perCall, peaks, info).report().print(System.out, format);
        }
        return 0;
    }
}
