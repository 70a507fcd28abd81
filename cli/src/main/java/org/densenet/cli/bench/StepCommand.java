package org.densenet.cli.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.densenet.cli.Main;
import org.densenet.cli.ModelOptions;
import org.densenet.engine.Backend;
import org.densenet.engine.Precision;
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

    @Option(names = "--compare-memory",
            description = "Run every memory mode (naive, shared, then recompute where the network has bottleneck layers) side by side; "
                    + "--memory is then ignored.")
    boolean compare;

    @Option(names = "--peer", paramLabel = "PYTHON",
            description = "Also run the PyTorch peer (scripts/bench/pytorch_step.py: naive, memory_efficient, channels_last and"
                    + " torch.compile, in our --precision through torch.autocast, fp16 with GradScaler; on the CPU with our thread count)"
                    + " with this Python, "
                    + "e.g. /usr/bin/python3, and add its rows to the table.")
    String peerPython;

    @Option(names = "--peer-script", paramLabel = "PY", description = "The peer script (default: ${DEFAULT-VALUE}).",
            defaultValue = "scripts/bench/pytorch_step.py")
    Path peerScript;

    @Override
    public Integer call() {
        Workload w = stepOptions.workload(model, common);
        Report.Format format = common.format();
        List<MemoryMode> modes = compare ? MemoryMode.distinctFor(w.config()) : List.of(w.mode());
        try (Backend backend = common.open(System.err)) {
            RunInfo info = RunInfo.collect(backend);
            List<Map<String, Object>> peer = List.of();
            if (peerPython != null) {
                try {
                    // the same math on both sides: our precision (TF32 for PyTorch only where our backend allows it too)
                    Precision precision = common.precision();
                    if (precision == Precision.TF32
                            && !(backend instanceof org.densenet.engine.cuda.CudaBackend cuda && cuda.tf32Allowed())) {
                        precision = Precision.FP32;
                    }
                    int threads = backend instanceof org.densenet.engine.cpu.CpuBackend cpu ? cpu.threads() : 0;
                    peer = PeerBench.run(peerPython, peerScript, w, backend.name(), precision, threads);
                } catch (IllegalArgumentException e) {
                    throw new Main.UsageError(e.getMessage());
                }
            }
            StepBench.run(backend, w, modes, info, peer).print(System.out, format);
        }
        return 0;
    }
}
