package org.densenet.tests.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.densenet.engine.cuda.EmulatedGpu;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line with {@code --device cuda} on the emulated device: a child process whose
 * loader path and DENSENET_CUDA_LIBS hold the kernel-running stand-in libcuda.so.1 and the
 * stand-in cuDNN and cuBLAS, found by the same library search as a real installation. Checks that
 * discovery, device selection, training (batches, kernels, SGD on the device, checkpoints read
 * back from it), evaluation and the step benchmark work end to end on the CUDA backend, and that
 * training there follows the CPU run of the same seed.
 */
class CudaOnEmulatorCliTest {
    @TempDir
    static Path dir;
    private static Map<String, String> env;

    /** 8x8 synthetic images, batch 8: 4 steps, then the test split. */
    private static final String[] RUN = {"train", "--dataset", "synthetic", "--image-size", "8", "--depth", "10", "--growth", "4",
            "-b", "8", "--epochs", "1", "--max-steps", "4", "-j", "1", "--seed", "5"};

    @BeforeAll
    static void emulatedInstallation() {
        String libs = EmulatedGpu.libraryFolder().toString();
        env = Map.of("LD_LIBRARY_PATH", libs, "DENSENET_CUDA_LIBS", libs);
    }

    @Test
    void devicesFindsTheEmulatedGpuThroughTheLibrarySearch() throws Exception {
        Cli.Run r = Cli.run(dir, env, "devices");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("CUDA emulator (kernels run on the CPU)"), r.all());
        assertTrue(r.out().contains("libcudnn.so.9") || r.out().contains("cuDNN 9.14"), r.all());
        assertTrue(r.out().contains("nccl: NCCL 2.30.7 at " + env.get("DENSENET_CUDA_LIBS") + "/libnccl.so.2"), r.all());
    }

    @Test
    void trainingOnCudaFollowsTheCpuRunOfTheSameSeed() throws Exception {
        Cli.Run gpu = Cli.run(dir, env, args("--device", "cuda", "--output", "on-cuda"));
        assertEquals(0, gpu.exit(), gpu.all());
        assertTrue(gpu.out().contains("on cuda:0 CUDA emulator"), gpu.all());
        Cli.Run cpu = Cli.run(dir, args("--device", "cpu", "--output", "on-cpu"));
        assertEquals(0, cpu.exit(), cpu.all());
        Map<String, HostTensor> g = SafeTensors.read(dir.resolve("on-cuda/last.safetensors"));
        Map<String, HostTensor> c = SafeTensors.read(dir.resolve("on-cpu/last.safetensors"));
        assertEquals(c.keySet(), g.keySet());
        int compared = 0;
        for (String k : c.keySet()) {
            if (c.get(k).dtype() != HostTensor.Kind.F32) continue;
            float[] a = c.get(k).toFloatArray(), b = g.get(k).toFloatArray();
            double diff = 0, norm = 0;
            for (int i = 0; i < a.length; i++) {
                diff += (a[i] - (double) b[i]) * (a[i] - (double) b[i]);
                norm += (double) a[i] * a[i];
            }
            // four SGD steps of float32 arithmetic in another order: agreement to about 1e-4 of each tensor's norm
            assertTrue(Math.sqrt(diff) <= 1e-3 * Math.sqrt(norm) + 1e-6, k + ": |cuda - cpu| = " + Math.sqrt(diff) + ", |cpu| = " + Math.sqrt(norm));
            compared++;
        }
        assertTrue(compared > 20, "weights, running statistics and momentum compared: " + compared);

        Cli.Run eval = Cli.run(dir, env, "eval", "--weights", "on-cuda/last.safetensors", "--depth", "10", "--growth", "4",
                "--dataset", "synthetic", "--image-size", "8", "--device", "cuda", "--json");
        assertEquals(0, eval.exit(), eval.all());
        assertTrue(eval.out().contains("\"top1\""), eval.all());
    }

    /**
     * The trainer with CUDA graphs on and off ends with the same weights, momentum and running
     * statistics, bit for bit: 12 steps of batch 100 under a cosine schedule with warm-up (a new
     * learning rate every step), across the epoch's last batch of 24 (a new shape: uncaptured, with
     * its line), the evaluation (captured too) and the first step of the next epoch.
     */
    @Test
    void trainingWithCudaGraphsEqualsTrainingWithoutThemBitForBit() throws Exception {
        String[] run = {"train", "--dataset", "synthetic", "--image-size", "8", "--depth", "10", "--growth", "4", "-b", "100",
                "--epochs", "2", "--max-steps", "12", "--schedule", "cosine", "--warmup", "1", "-j", "1", "--seed", "3"};
        Cli.Run on = Cli.run(dir, env, Stream.concat(Stream.of(run), Stream.of("--device", "cuda", "--output", "graphs-on")).toArray(String[]::new));
        assertEquals(0, on.exit(), on.all());
        Cli.Run off = Cli.run(dir, env, Stream.concat(Stream.of(run), Stream.of("--device", "cuda", "--cuda-graphs", "off", "--output", "graphs-off"))
                .toArray(String[]::new));
        assertEquals(0, off.exit(), off.all());
        assertTrue(on.all().contains("cuda graphs: the training step on a batch of 24 runs uncaptured"), on.all());
        assertEquals(2, on.all().lines().filter(l -> l.startsWith("cuda graphs")).count(), "the last batches of training and evaluation: " + on.all());
        assertTrue(!off.all().contains("cuda graphs"), "nothing to say with graphs off: " + off.all());
        Map<String, HostTensor> a = SafeTensors.read(dir.resolve("graphs-on/last.safetensors"));
        Map<String, HostTensor> b = SafeTensors.read(dir.resolve("graphs-off/last.safetensors"));
        assertEquals(b.keySet(), a.keySet());
        for (String k : b.keySet()) {
            boolean same = b.get(k).dtype() == HostTensor.Kind.F32 ? java.util.Arrays.equals(b.get(k).toFloatArray(), a.get(k).toFloatArray())
                    : java.util.Arrays.equals(b.get(k).toLongArray(), a.get(k).toLongArray());
            assertTrue(same, k + " differs between graphs on and off");
        }
        assertEquals(12, b.get("features.norm5.num_batches_tracked").toLongArray()[0], "every step counted, replayed or not");
        assertEquals(epochLosses(off.out()), epochLosses(on.out()), "the same training and evaluation losses and accuracies");
    }

    /**
     * `train --gpus 2` on two emulated GPUs (the stand-in driver reports DN_FAKE_GPUS devices, the
     * stand-in NCCL joins the ranks): a whole epoch of 8 steps per GPU, the sharded evaluation, and
     * the checkpoint rank 0 writes. Every rank evaluates its half of the test set with rank 0's
     * running statistics and the sums are added up, so the epoch's val top-1 is what a one-GPU
     * `eval` of the saved weights measures over the whole set (seed 0: eval's synthetic test set is
     * the one a run of seed 0 evaluates on).
     */
    @Test
    void trainingOnTwoEmulatedGpusEvaluatesTheWholeTestSetOnce() throws Exception {
        Map<String, String> two = new java.util.HashMap<>(env);
        two.put("DN_FAKE_GPUS", "2");
        Cli.Run r = Cli.run(dir, two, "train", "--dataset", "synthetic", "--image-size", "8", "--depth", "10", "--growth", "4", "-b", "64",
                "--epochs", "1", "-j", "1", "--seed", "0", "--gpus", "2", "--output", "two-gpus");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("batch 64 per GPU, 128 global (2 GPUs)"), r.all());
        assertTrue(r.out().contains("data parallel: 2 GPUs in all (one process), this process [0, 1]"), r.all());
        var top1 = Pattern.compile("val loss \\S+ top-1 (\\S+)%").matcher(r.out());
        assertTrue(top1.find(), r.all());
        Map<String, HostTensor> saved = SafeTensors.read(dir.resolve("two-gpus/last.safetensors"));
        assertEquals(8, saved.get("features.norm5.num_batches_tracked").toLongArray()[0], "8 steps of 64 per GPU make the epoch of 1,024");
        Cli.Run eval = Cli.run(dir, env, "eval", "--weights", "two-gpus/last.safetensors", "--depth", "10", "--growth", "4",
                "--dataset", "synthetic", "--image-size", "8", "--device", "cuda", "--json");
        assertEquals(0, eval.exit(), eval.all());
        var evalTop1 = Pattern.compile("\"top1\"\\s*:\\s*([0-9.eE+-]+)").matcher(eval.out());
        assertTrue(evalTop1.find(), eval.all());
        assertEquals(top1.group(1), String.format(java.util.Locale.ROOT, "%.2f", Double.parseDouble(evalTop1.group(1))), r.all() + eval.all());
    }

    /**
     * SIGTERM on `train --gpus 2 --sync-bn`: both ranks stop after the same step, rank 0 saves once, status 143, and the run
     * resumes on two GPUs, with the checkpoint's --sync-bn.
     */
    @Test
    void sigtermStopsBothRanksAndTheRunResumes() throws Exception {
        Map<String, String> two = new java.util.HashMap<>(env);
        two.put("DN_FAKE_GPUS", "2");
        Path out = dir.resolve("term-out.txt"), err = dir.resolve("term-err.txt");
        Process p = Cli.start(dir, out, err, two, "train", "--dataset", "synthetic", "--image-size", "8", "--depth", "10", "--growth", "4",
                "-b", "4", "--epochs", "1", "-j", "1", "--gpus", "2", "--sync-bn", "--log-interval", "0.05", "--output", "terminated");
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(90);
        while (!java.nio.file.Files.readString(out).contains("top-1") && System.nanoTime() < deadline && p.isAlive()) Thread.sleep(20);
        assertTrue(p.isAlive(), "still training: " + java.nio.file.Files.readString(out) + java.nio.file.Files.readString(err));
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "exits after the signal");
        String log = java.nio.file.Files.readString(out) + java.nio.file.Files.readString(err);
        assertEquals(143, p.exitValue(), log);
        assertEquals(1, log.lines().filter(l -> l.contains("interrupted at epoch")).count(), "one rank reports, once: " + log);
        Map<String, String> meta = SafeTensors.readMetadata(dir.resolve("terminated/last.safetensors"));
        long stoppedAt = Long.parseLong(meta.get("state.global_step"));
        assertEquals("2", meta.get("state.world_size"));
        assertEquals("true", meta.get("config.sync_bn"), "the checkpoint records --sync-bn");
        String synced = "batch norm: statistics over the global batch of 2 GPUs (--sync-bn)";
        assertTrue(log.contains(synced), log);
        assertTrue(stoppedAt >= 1 && stoppedAt < 128, "stopped mid-epoch, at step " + stoppedAt);
        Cli.Run rest = Cli.run(dir, two, "train", "--resume", "terminated/last.safetensors", "--gpus", "2", "-j", "1",
                "--max-steps", Long.toString(stoppedAt + 2));
        assertEquals(0, rest.exit(), rest.all());
        assertTrue(rest.out().contains("resuming at epoch 1, batch " + stoppedAt + " (step " + stoppedAt + ")"), rest.all());
        assertTrue(rest.out().contains(synced), "resumed with the run's --sync-bn: " + rest.all());
        assertEquals(Long.toString(stoppedAt + 2),
                SafeTensors.readMetadata(dir.resolve("terminated/last.safetensors")).get("state.global_step"));
    }

    /**
     * `bench step --gpus 2` on two emulated GPUs: the ranks' step, each step's all-reduce time and the part of it that
     * overlapped backward (host clocks here, which the report says), the overlapped part never more than the whole; those
     * times need every op issued each step (--cuda-graphs off). With graphs on (the default) the steps replay graphs
     * holding their all-reduces, and the report says how many, and why it has no all-reduce times.
     */
    @Test
    void stepBenchmarkOnTwoEmulatedGpusReportsTheAllReduceAndItsOverlap() throws Exception {
        Map<String, String> two = new java.util.HashMap<>(env);
        two.put("DN_FAKE_GPUS", "2");
        Cli.Run graphs = Cli.run(dir, two, "bench", "step", "--gpus", "2", "--depth", "10", "--growth", "4", "-b", "4", "--image-size", "8",
                "--warmup", "1", "--repeats", "2", "--json");
        assertEquals(0, graphs.exit(), graphs.all());
        var replayed = Pattern.compile("\"cuda_graphs\"\\s*:\\s*(\\d+)").matcher(graphs.out());
        assertTrue(replayed.find() && Long.parseLong(replayed.group(1)) >= 2, "rank 0 replayed graphs, every timed step at least: " + graphs.all());
        assertTrue(!graphs.all().contains("runs uncaptured"), graphs.all());
        Cli.Run r = Cli.run(dir, two, "bench", "step", "--gpus", "2", "--depth", "10", "--growth", "4", "-b", "4", "--image-size", "8",
                "--warmup", "1", "--repeats", "3", "--cuda-graphs", "off", "--json");
        assertEquals(0, r.exit(), r.all());
        var row = Pattern.compile("\"gpus\"\\s*:\\s*2.*\"buckets\"\\s*:\\s*1.*\"allreduce_median_ms\"\\s*:\\s*([0-9.eE+-]+).*"
                + "\"allreduce_overlapped_median_ms\"\\s*:\\s*([0-9.eE+-]+)", Pattern.DOTALL).matcher(r.out());
        assertTrue(row.find(), r.all());
        double all = Double.parseDouble(row.group(1)), overlapped = Double.parseDouble(row.group(2));
        assertTrue(all > 0 && overlapped >= 0 && overlapped <= all, all + " ms, " + overlapped + " ms overlapped: " + r.out());
        assertTrue(r.out().contains("\"emulated\":true"), "the report says these are not GPU figures: " + r.all());
    }

    private static final Pattern EPOCH_LOSSES = Pattern.compile("train loss \\S+ top-1 \\S+ +val loss \\S+ top-1 \\S+ top-5 \\S+");

    /** The losses and accuracies of an epoch's line, without its times. */
    private static String epochLosses(String out) {
        var m = EPOCH_LOSSES.matcher(out);
        assertTrue(m.find(), "an epoch line: " + out);
        return m.group();
    }

    /** With --tf32, which reaches the backend: the run header says so. */
    @Test
    void stepBenchmarkRunsOnCuda() throws Exception {
        Cli.Run r = Cli.run(dir, env, "bench", "step", "--device", "cuda", "--depth", "10", "--growth", "4", "-b", "4",
                "--image-size", "8", "--warmup", "1", "--repeats", "2", "--tf32", "--json");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("CUDA emulator"), r.all());
        assertTrue(TF32_ALLOWED.matcher(r.out()).find(), r.all());
    }

    /**
     * bin/host-overhead.sh's set-up: on the null device a full-size network's step benchmark
     * finishes in seconds (the emulator would take hours), because every call is checked and its
     * work dropped; the header still names the device the library search found.
     */
    @Test
    void fullSizeStepBenchmarkRunsOnTheNullDevice() throws Exception {
        String libs = EmulatedGpu.nullDeviceFolder().toString();
        Cli.Run r = Cli.run(dir, Map.of("LD_LIBRARY_PATH", libs, "DENSENET_CUDA_LIBS", libs), "bench", "step", "--device", "cuda",
                "--model", "densenet-bc-100-12", "-b", "64", "--warmup", "2", "--repeats", "3", "--json");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("CUDA emulator") && r.out().contains("densenet-bc-100-12") && r.out().contains("train step"), r.all());
        assertTrue(Pattern.compile("\"tf32\"\\s*:\\s*\"off\"").matcher(r.out()).find(), "float32 math unless --tf32: " + r.all());
        // The null device captures and replays too. Training, then inference: 8 warm-up steps each (two per rotated input
        // batch, with graphs) and 3 timed; each batch captured on its second run: 4 uncaptured, then 7 replays.
        assertTrue(Pattern.compile("\"cuda_graph_replays_shared\"\\s*:\\s*14\\b").matcher(r.out()).find(), r.all());
    }

    private static final Pattern TF32_ALLOWED = Pattern.compile("\"tf32\"\\s*:\\s*\"allowed\"");

    private static String[] args(String... extra) {
        return Stream.concat(Stream.of(RUN), Stream.of(extra)).toArray(String[]::new);
    }
}
