package org.densenet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TensorBoard itself (its EventAccumulator, what {@code tensorboard --logdir} uses) reads back
 * every scalar we write, at its step. Runs where a Python with the tensorboard package is found:
 * {@code DENSENET_TENSORBOARD_PYTHON}, else {@code python3}; otherwise it is skipped with that reason.
 */
class TensorBoardReadsEventsTest {
    private static final String READER = """
            import sys
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            ea = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0})
            ea.Reload()
            for tag in sorted(ea.Tags()['scalars']):
                for e in ea.Scalars(tag):
                    print(tag, e.step, repr(e.value))
            """;

    @Test
    void tensorBoardReadsEveryScalarAtItsStep(@TempDir Path dir) throws Exception {
        String python = System.getenv().getOrDefault("DENSENET_TENSORBOARD_PYTHON", "python3");
        Assumptions.assumeTrue(run(dir, python, "-c", "import tensorboard").exit() == 0,
                "no tensorboard package for " + python + " (pip install tensorboard, or set DENSENET_TENSORBOARD_PYTHON)");
        Map<String, List<String>> written = new LinkedHashMap<>();
        Path logs = Files.createDirectory(dir.resolve("run"));
        try (TfEventWriter w = new TfEventWriter(logs)) {
            for (int step = 1; step <= 300; step++) {
                double loss = 2.5 * Math.exp(-step / 90.0) + 1e-3 * Math.sin(step);
                w.scalar("step/loss", step, loss);
                written.computeIfAbsent("step/loss", k -> new ArrayList<>()).add(step + " " + (float) loss);
                if (step % 100 == 0) {
                    double top1 = 40 + step / 10.0 + 0.0625;
                    w.scalar("top1/val", step / 100, top1);
                    written.computeIfAbsent("top1/val", k -> new ArrayList<>()).add(step / 100 + " " + (float) top1);
                }
            }
        }
        Path script = Files.writeString(dir.resolve("read.py"), READER);
        Result r = run(dir, python, script.toString(), logs.toString());
        assertEquals(0, r.exit(), r.output());
        Map<String, List<String>> read = new LinkedHashMap<>();
        for (String line : r.output().strip().split("\n")) {
            String[] f = line.strip().split(" ");
            if (f.length != 3) continue;   // TensorBoard's own warnings
            read.computeIfAbsent(f[0], k -> new ArrayList<>()).add(f[1] + " " + Float.parseFloat(f[2]));
        }
        assertEquals(new TreeSet<>(written.keySet()), new TreeSet<>(read.keySet()), r.output());
        for (String tag : written.keySet()) assertEquals(written.get(tag), read.get(tag), tag);
    }

    private record Result(int exit, String output) {
    }

    private static Result run(Path dir, String... command) throws IOException, InterruptedException {
        Path out = dir.resolve("python-output.txt");
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        } catch (IOException e) {
            return new Result(-1, e.getMessage());
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out");
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }
}
