package org.densenet.cli.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.densenet.engine.OpTimer;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.engine.cuda.GradientAllReduce;
import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.train.dist.GradientBuckets;
import org.densenet.train.dist.NcclDataParallel;
import org.densenet.train.dist.RankThreads;

/**
 * {@code densenet bench step --gpus N}: {@link StepBench}'s training step as N data-parallel ranks, a
 * thread and a CUDA backend each, gradients averaged through NCCL in DDP's buckets with each bucket's
 * all-reduce overlapping the rest of backward, as {@code train --gpus} runs it. Besides the step's
 * time (rank 0's), each step's all-reduce time (CUDA events around every bucket's all-reduce on the
 * collectives' stream, summed) and the part of it that ran before backward ended, i.e. hidden behind
 * backward. No input is loaded and every rank starts from its own weights: neither changes the time.
 * With CUDA graphs on, each step replays one graph holding its all-reduces, which CUDA events cannot
 * time from inside: the all-reduce columns are then left empty (0), and a note says so.
 */
public final class DataParallelStepBench {
    private DataParallelStepBench() {
    }

    public static Report run(List<CudaBackend> backends, Nccl nccl, Workload w, RunInfo info, Duration timeout) {
        int n = backends.size();
        record Ran(Stats.Timed step, List<GradientAllReduce.Timed> comm, long replayed) {
        }
        RankThreads.Outcome<Ran> out = RankThreads.run("bench", new RankThreads.Communicator(nccl, nccl.uniqueId(), 0, n, timeout), backends,
                (rank, backend, reduce) -> {
                    if (!backend.capturesGraphs()) reduce.timeAverages();
                    NcclDataParallel par = new NcclDataParallel(reduce, true, GradientBuckets.DEFAULT_FIRST_CAP_BYTES,
                            GradientBuckets.DEFAULT_CAP_BYTES);
                    List<GradientAllReduce.Timed> times = new ArrayList<>();
                    try (TrainingStep step = w.open(backend).dataParallel(par); OpTimer timer = backend.newTimer()) {
                        // with graphs, as the one-GPU benchmark: two warm-up runs per rotated batch, so that every timed step replays
                        StepBench.warmUp(backend, backend.capturesGraphs() ? Math.max(w.warmup(), 2 * w.batches()) : w.warmup(), step::train);
                        Stats.Timed timed = Stats.timedWithHost(timer, backend::waitedNanos, 0, w.repeats(), () -> {
                            step.train();
                            times.add(reduce.lastAverages());
                        });
                        step.lastLoss();
                        return new Ran(timed, times, step.replayedSteps());
                    }
                }, r -> null);
        if (out.first() != null) {
            RankThreads.Failed f = (RankThreads.Failed) out.first();
            throw new IllegalStateException(RankThreads.reason(f, n), f.error());
        }
        Ran first = out.results().getFirst();
        return report(backends, w, info, first.step(), first.comm(), first.replayed());
    }

    private static Report report(List<CudaBackend> backends, Workload w, RunInfo info, Stats.Timed step, List<GradientAllReduce.Timed> comm,
                                 long replayed) {
        int n = backends.size();
        Report report = new Report(info, "bench step --gpus: " + w.modelName() + ", " + w.mode().label() + " memory, " + w.describe() + ", "
                + n + " ranks");
        long[] total = new long[comm.size()], hidden = new long[comm.size()];
        for (int i = 0; i < comm.size(); i++) {
            total[i] = Math.round(comm.get(i).allReduceMillis() * 1e6);
            hidden[i] = Math.round(comm.get(i).overlappedMillis() * 1e6);
        }
        Stats all = Stats.of(total), over = Stats.of(hidden), s = step.device();
        int buckets = comm.isEmpty() ? 0 : comm.getLast().buckets();
        Table t = new Table(List.of(
                new Table.Column("framework", "framework", null),
                new Table.Column("model", "model", null),
                new Table.Column("mode", "mode", null),
                new Table.Column("gpus", "ranks", "%d"),
                new Table.Column("batch", "batch/rank", "%d"),
                new Table.Column("median_ms", "ms", "%.3f"),
                new Table.Column("p10_ms", "p10", "%.3f"),
                new Table.Column("p90_ms", "p90", "%.3f"),
                new Table.Column("host_median_ms", "host ms", "%.3f"),
                new Table.Column("images_per_s", "img/s", "%.1f"),
                new Table.Column("buckets", "buckets", "%d"),
                new Table.Column("allreduce_median_ms", "all-reduce ms", "%.3f"),
                new Table.Column("allreduce_overlapped_median_ms", "overlapped ms", "%.3f"),
                new Table.Column("allreduce_overlapped_percent", "overlapped %", "%.1f")));
        double share = all.median() > 0 ? 100 * over.median() / all.median() : 0;
        t.add(StepBench.FRAMEWORK, w.modelName(), w.mode().label(), n, w.batch(), s.median() / 1e6, s.p10() / 1e6, s.p90() / 1e6,
                step.host().median() / 1e6, (double) n * w.batch() * 1e9 / s.median(), buckets, all.median() / 1e6, over.median() / 1e6, share);
        report.table("steps", t);
        report.note("allreduce_timing", "cuda events", "all-reduce: CUDA events around each bucket's all-reduce on the collectives' stream,"
                + " summed per step; overlapped: the part before backward's last kernel was reached (rank 0, medians of the timed steps)");
        if (backends.getFirst().capturesGraphs()) {
            report.note("cuda_graphs", replayed, "steps of rank 0 replayed from a CUDA graph holding their all-reduces, whose events"
                    + " cannot time them: the all-reduce columns are 0; --cuda-graphs off times them (each op then issued every step)");
        }
        if (backends.getFirst().name().contains("emulator")) {
            report.note("emulated", true, String.format(Locale.ROOT, "on the emulated device the ranks are threads of one process and events"
                    + " hold the host's clock: these times are the host's (an all-reduce's is mostly the wait for the other ranks), not GPU figures"));
        }
        return report;
    }
}
