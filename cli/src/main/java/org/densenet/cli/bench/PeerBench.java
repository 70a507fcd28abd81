package org.densenet.cli.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.densenet.engine.Precision;
import org.densenet.engine.io.JsonCodec;

/**
 * Runs the PyTorch peer of {@code bench step}, scripts/bench/pytorch_step.py, with the same model,
 * batch shape, precision, warm-up and repeats on the same kind of device, and on the CPU with the
 * same number of threads, and returns its results (one per mode: naive, efficient, i.e.
 * torchvision's memory_efficient, channels_last and compiled, i.e. torch.compile) for the same
 * table. A mode the peer could not run as asked (no torch.compile, no autocast in that precision on
 * that device) comes back with a {@value #SKIPPED} reason instead of timings.
 */
public final class PeerBench {
    /** The key of a result the peer skipped, holding its reason. */
    public static final String SKIPPED = "skipped";
    /** Every mode of the peer: what a PyTorch user would run, eager and compiled. */
    static final String MODES = "naive,efficient,channels_last,compiled";

    private PeerBench() {
    }

    /** The peer's --device for a backend name: "cuda:N" for a GPU backend, else "cpu". */
    static String peerDevice(String backendName) {
        return backendName.startsWith("cuda") ? backendName.split(" ", 2)[0] : "cpu";
    }

    /**
     * {@code threads}: torch's CPU threads, our CPU backend's count so that a CPU comparison uses the same cores
     * (0 leaves torch's default, which on a 2-core machine is 1).
     * One map per (model, mode) with the script's keys: mode, median_ms, min_ms, p10_ms, p90_ms, max_ms, images_per_s,
     * peak_memory_bytes, framework. A result whose parameter count differs from our network's is refused.
     */
    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> run(String python, Path script, Workload w, String backendName, Precision precision, int threads) {
        if (!Files.isRegularFile(script)) {
            throw new IllegalArgumentException("the PyTorch peer script " + script + " does not exist (run from the repository root, or give --peer-script)");
        }
        List<String> cmd = List.of(python, script.toString(), "--model", w.modelName(), "--batch", Integer.toString(w.batch()),
                "--image-size", Integer.toString(w.imageSize()), "--classes", Integer.toString(w.config().numClasses()),
                "--warmup", Integer.toString(w.warmup()), "--steps", Integer.toString(w.repeats()),
                "--device", peerDevice(backendName), "--precision", precision.label(), "--threads", Integer.toString(threads),
                "--mode", MODES, "--json", "-");
        Path log = null;
        try {
            // the script's own table goes to stderr; it is kept out of ours and shown only if the script fails
            log = Files.createTempFile("pytorch-peer", ".log");
            Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = p.waitFor();
            if (status != 0) {
                throw new IllegalStateException("the PyTorch peer (" + String.join(" ", cmd) + ") failed with exit status " + status + ":\n"
                        + Files.readString(log, StandardCharsets.UTF_8).strip());
            }
            Map<String, Object> doc = (Map<String, Object>) JsonCodec.parse(out.strip());
            List<Map<String, Object>> results = new ArrayList<>((List<Map<String, Object>>) doc.get("results"));
            for (Map<String, Object> r : results) {
                if (r.get("parameters") instanceof Number n && n.longValue() != w.config().parameterCount()) {
                    throw new IllegalStateException("the PyTorch peer's " + w.modelName() + " (" + r.get("mode") + ") has " + n.longValue()
                            + " parameters, ours " + w.config().parameterCount() + ": not the same network, so not a comparison");
                }
            }
            return results;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run the PyTorch peer with " + python + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the PyTorch peer ran", e);
        } finally {
            if (log != null) {
                try {
                    Files.deleteIfExists(log);
                } catch (IOException ignored) {
                    // a temporary file left behind is harmless
                }
            }
        }
    }
}
