package org.densenet.cli.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.densenet.cli.Main;
import org.densenet.cli.ModelOptions;
import org.densenet.cli.ParallelOptions;
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

    @Option(names = "--gpus", paramLabel = "N|LIST",
            description = "Time the training step as data-parallel ranks on N local GPUs (or the listed ones), as train --gpus runs it,"
                    + " and report each step's all-reduce time and how much of it overlapped backward. A list may name a GPU twice"
                    + " (0,0) where NCCL allows several ranks on one GPU (2.30 and later, NCCL_MULTI_RANK_GPU_ENABLE=1).")
    String gpus;

    @Option(names = "--nccl-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "With --gpus: a collective that does not complete within this time ends the benchmark (default: ${DEFAULT-VALUE}).")
    double ncclTimeout;

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
        if (gpus != null) return dataParallel(w, format);
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

    /** --gpus: one backend per listed GPU (CUDA graphs as train --gpus opens them), NCCL, and the ranks' step. */
    private int dataParallel(Workload w, Report.Format format) {
        if (compare || peerPython != null) throw new Main.UsageError("--gpus times one memory mode, without the PyTorch peer: drop --compare-memory and --peer");
        if (common.device.strip().equalsIgnoreCase("cpu")) throw new Main.UsageError("--gpus: data-parallel training runs on GPUs; drop --device cpu");
        if (!(ncclTimeout > 0)) throw new Main.UsageError("--nccl-timeout must be > 0 seconds, got " + ncclTimeout);
        List<Integer> ordinals = ParallelOptions.parseGpus(gpus, "1".equals(System.getenv("NCCL_MULTI_RANK_GPU_ENABLE")));
        org.densenet.engine.cuda.ffm.Nccl nccl = ParallelOptions.loadNccl();
        List<org.densenet.engine.cuda.CudaBackend> backends = new java.util.ArrayList<>();
        try {
            boolean graphs = ParallelOptions.graphsFor(ordinals, nccl, BenchOptions.cudaGraphs(common.cudaGraphs), System.err);
            ParallelOptions.openGpus(ordinals, common.precision(), graphs, backends);
            RunInfo info = RunInfo.collect(backends.getFirst());
            DataParallelStepBench.run(backends, nccl, w, info, java.time.Duration.ofMillis(Math.max(1, Math.round(ncclTimeout * 1000))))
                    .print(System.out, format);
        } finally {
            for (Backend b : backends) b.close();
        }
        return 0;
    }
}
