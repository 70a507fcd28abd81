package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.densenet.engine.Precision;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerBenchTest {
    private static final Path TORCH_PYTHON = Path.of("/usr/bin/python3");

    private static Workload workload(String name, DenseNetConfig c) {
        return new Workload(name, c, MemoryMode.SHARED, 2, 8, 0, 1, 1, 3);
    }

    private static boolean runs(String... cmd) {
        try {
            return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void passesTheWorkloadAndAddsThePeersRowsToTheStepTable(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(runs("python3", "-c", "pass"), "no python3 on PATH");
        // a stand-in for the peer script that answers with the arguments it was given
        Path script = dir.resolve("peer.py");
        Files.writeString(script, """
                import json, sys
                a = sys.argv[1:]
                opt = dict(zip(a[::2], a[1::2]))
                print("human table", file=sys.stderr)
                rows = [dict(framework="pytorch test", mode=m, median_ms=10.0, min_ms=9.0, p10_ms=9.5, p90_ms=11.0, max_ms=12.0,
                             images_per_s=int(opt["--batch"]) * 100.0, peak_memory_bytes=1048576, peak_memory_method="stand-in",
                             args=" ".join(a)) for m in ("naive", "efficient")]
                rows[1]["host_median_ms"] = 7.5
                rows.append(dict(framework="pytorch test", mode="compiled", skipped="no compiler here"))
                print(json.dumps({"results": rows}))
                """);
        Workload w = workload("densenet-bc-10-4", DenseNetConfig.cifar(10, 4, true, 0.5, 0, 10));
        List<Map<String, Object>> peer = PeerBench.run("python3", script, w, "cpu (2 threads)", Precision.BF16, 2);
        assertEquals(3, peer.size());
        assertEquals("--model densenet-bc-10-4 --batch 2 --image-size 8 --classes 10 --warmup 0 --steps 1 --device cpu --precision bf16"
                + " --threads 2 --mode naive,efficient,channels_last,compiled --json -", peer.getFirst().get("args"));
        try (CpuBackend cpu = new CpuBackend(2)) {
            Report report = StepBench.run(cpu, w, List.of(MemoryMode.SHARED), RunInfo.collect(cpu), peer);
            Table t = report.table("steps");
            assertEquals(4, t.size(), "a skipped mode has no row");
            assertEquals("no compiler here", report.note("peer_skipped_compiled"));
            assertEquals("pytorch test", t.cell(3, "framework"));
            assertEquals("efficient", t.cell(3, "mode"));
            assertEquals(100.0, (Double) t.cell(3, "steps_per_s"), 1e-12);
            assertEquals(1048576L, t.cell(3, "peak_memory_bytes"));
            assertEquals(7.5, (Double) t.cell(3, "host_median_ms"), 1e-12);
            assertEquals(null, t.cell(2, "host_median_ms"), "a peer without host times shows none");
            // ours: the CPU finishes each op before returning, so the host time is the step's wall time
            assertTrue((Double) t.cell(1, "host_median_ms") > 0, "host time of our train step");
        }
    }

    /** The repository's peer script, where it and a PyTorch to run it are here (the test is skipped otherwise). */
    private static Path realPeerScript() {
        Path script = Path.of("..", "scripts", "bench", "pytorch_step.py");
        Assumptions.assumeTrue(Files.isRegularFile(script), "peer script not found at " + script.toAbsolutePath());
        Assumptions.assumeTrue(runs(TORCH_PYTHON.toString(), "-c", "import torch"), "no PyTorch at " + TORCH_PYTHON);
        return script;
    }

    @Test
    void peerDeviceFollowsTheBackend() {
        assertEquals("cpu", PeerBench.peerDevice("cpu (2 threads)"));
        assertEquals("cuda:1", PeerBench.peerDevice("cuda:1 NVIDIA H100 80GB HBM3"));
    }

    @Test
    void theRealPeerScriptAnswersInTheSameColumns() {
        Path script = realPeerScript();
        Workload w = workload("densenet-40-12", DenseNetConfig.preset("densenet-40-12"));
        List<Map<String, Object>> peer = PeerBench.run(TORCH_PYTHON.toString(), script, w, "cpu", Precision.FP32, 2);
        assertEquals(List.of("naive", "efficient", "channels_last", "compiled"), peer.stream().map(r -> r.get("mode")).toList());
        for (Map<String, Object> r : peer) {
            if (r.get(PeerBench.SKIPPED) != null) {
                // PyTorch 1.13 has no torch.compile; a newer one may lack a working compiler here: either way, a reason
                assertEquals("compiled", r.get("mode"), "only compilation may be missing: " + r);
                assertTrue(String.valueOf(r.get(PeerBench.SKIPPED)).contains("torch.compile"), r.toString());
                continue;
            }
            assertEquals("fp32", r.get("precision"));
            for (String key : List.of("median_ms", "min_ms", "p10_ms", "p90_ms", "max_ms", "host_median_ms", "images_per_s", "peak_memory_bytes")) {
                assertTrue(r.get(key) instanceof Number, key + " in " + r);
            }
            assertEquals(1019722L, ((Number) r.get("parameters")).longValue(), "same network as ours");
            assertEquals(Boolean.FALSE, r.get("tf32"), "no TF32 on the CPU");
            assertEquals(2L, ((Number) r.get("threads")).longValue(), "our thread count, passed on");
        }
    }

    /**
     * bf16 runs under CPU autocast in every PyTorch that has it; fp16 on the CPU needs a newer PyTorch
     * than Debian's 1.13 (whose autocast would quietly fall back to float32): there every mode says why it was skipped.
     */
    @Test
    void theRealPeerScriptRunsOurPrecisionUnderAutocastOrSaysWhyNot() {
        Path script = realPeerScript();
        Workload w = workload("densenet-bc-16-6", DenseNetConfig.preset("densenet-bc-16-6"));
        for (Map<String, Object> r : PeerBench.run(TORCH_PYTHON.toString(), script, w, "cpu", Precision.BF16, 1)) {
            if (r.get("mode").equals("compiled") && r.get(PeerBench.SKIPPED) != null) continue;
            assertEquals(null, r.get(PeerBench.SKIPPED), "bf16 autocast runs on the CPU: " + r);
            assertEquals("bf16", r.get("precision"));
            assertTrue(r.get("median_ms") instanceof Number, r.toString());
        }
        boolean fp16OnCpu = runs(TORCH_PYTHON.toString(), "-c", "import torch,sys; a=torch.ones(2,2)\n"
                + "with torch.autocast('cpu', dtype=torch.float16): sys.exit(0 if torch.mm(a,a).dtype==torch.float16 else 1)");
        for (Map<String, Object> r : PeerBench.run(TORCH_PYTHON.toString(), script, w, "cpu", Precision.FP16, 1)) {
            if (fp16OnCpu) continue;
            String version = String.valueOf(r.get("framework")).substring("pytorch ".length());
            assertTrue(String.valueOf(r.get(PeerBench.SKIPPED)).startsWith("autocast on cpu does not compute in fp16 in PyTorch " + version + " ("),
                    r.toString());
        }
    }

    @Test
    void aPeerThatBuiltAnotherNetworkIsRefused(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(runs("python3", "-c", "pass"), "no python3 on PATH");
        Path script = dir.resolve("peer.py");
        Files.writeString(script, """
                import json
                print(json.dumps({"results": [dict(framework="pytorch test", mode="naive", parameters=12345, median_ms=1.0)]}))
                """);
        Workload w = workload("densenet-bc-10-4", DenseNetConfig.cifar(10, 4, true, 0.5, 0, 10));
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> PeerBench.run("python3", script, w, "cpu", Precision.FP32, 1));
        assertEquals("the PyTorch peer's densenet-bc-10-4 (naive) has 12345 parameters, ours " + w.config().parameterCount()
                + ": not the same network, so not a comparison", e.getMessage());
    }

    @Test
    void theRealPeerScriptBuildsAnyCifarNameAndTheImageNetPresetsAsWeDo() {
        Path script = realPeerScript();
        // densenet121 is torchvision's own; densenet264, which torchvision lacks, is built from its DenseNet class.
        // ImageNet networks at 32 pixels end on 1x1 maps; batch 2, as PyTorch refuses batch norm over one value per channel.
        for (String name : List.of("densenet-bc-16-6", "densenet-13-5", "densenet121", "densenet264")) {
            DenseNetConfig c = DenseNetConfig.preset(name);
            Workload w = name.startsWith("densenet-") ? workload(name, c) : new Workload(name, c, MemoryMode.SHARED, 2, 32, 0, 1, 1, 3);
            List<Map<String, Object>> peer = PeerBench.run(TORCH_PYTHON.toString(), script, w, "cpu", Precision.FP32, 1);
            assertEquals(4, peer.size());
            for (Map<String, Object> r : peer) {
                if (r.get(PeerBench.SKIPPED) != null) continue;
                assertEquals(c.parameterCount(), ((Number) r.get("parameters")).longValue(), name + " " + r.get("mode") + ": same network as ours");
                assertEquals((long) w.imageSize(), ((Number) r.get("image_size")).longValue());
            }
        }
    }
}
