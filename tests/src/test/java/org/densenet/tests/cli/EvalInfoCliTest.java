package org.densenet.tests.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.densenet.engine.DType;
import org.densenet.engine.io.JsonCodec;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.MemoryPlanner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** eval, info, devices and --version from the command line. */
class EvalInfoCliTest {
    @TempDir
    Path dir;

    @Test
    void evalOfTheLastCheckpointRepeatsTheLastEpochsValidation() throws Exception {
        Path data = Cli.cifar10(dir.resolve("cifar"), 16, 30, 5);
        Cli.Run t = Cli.run(dir, "train", "--data", data.toString(), "--depth", "10", "--growth", "4", "--epochs", "1", "-b", "20",
                "--device", "cpu", "--output", "run");
        assertEquals(0, t.exit(), t.all());
        String[] row = Files.readAllLines(dir.resolve("run/summary.csv")).get(1).split(",");

        Cli.Run e = Cli.run(dir, "eval", "--model", "densenet-bc-10-4", "--weights", "run/last.safetensors", "--data", data.toString(),
                "--device", "cpu", "--json");
        assertEquals(0, e.exit(), e.all());
        assertEquals(30, (int) number(e.out(), "images"));
        assertEquals(Double.parseDouble(row[4]), number(e.out(), "loss"), 1e-5);
        assertEquals(Double.parseDouble(row[5]), number(e.out(), "top1"), 1e-4, "summary.csv keeps 4 decimals");
        assertEquals(Double.parseDouble(row[6]), number(e.out(), "top5"), 1e-4);

        // A checkpoint carries its network: --model may be left out.
        Cli.Run plain = Cli.run(dir, "eval", "--weights", "run/best.safetensors", "--data", data.toString(), "--device", "cpu");
        assertEquals(0, plain.exit(), plain.all());
        assertTrue(plain.out().startsWith("densenet-bc-10-4 on cifar10 test: 30 images"), plain.out());
        // a batch no device holds is refused before the model is built, with what would fit
        Cli.Run big = Cli.run(dir, "eval", "--weights", "run/best.safetensors", "--data", data.toString(), "--device", "cpu",
                "-b", "50000000");
        assertEquals(1, big.exit(), big.all());
        assertTrue(big.err().startsWith("error: densenet-bc-10-4 needs about ")
                && big.err().contains("to run inference at batch 50000000 on 32x32 images in shared memory mode")
                && big.err().contains("the largest batch that fits is"), big.err());
    }

    @Test
    void infoReportsThePresetsParameterCountAndMemoryOfEveryMode() throws Exception {
        Cli.Run r = Cli.run(dir, "info", "--model", "densenet-bc-100-12", "-b", "64", "--json");
        assertEquals(0, r.exit(), r.all());
        assertEquals(DenseNetConfig.preset("densenet-bc-100-12").parameterCount(), (long) number(r.out(), "parameters"));
        assertEquals(769_162, (long) number(r.out(), "parameters"), "the paper's 0.8M");
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> mem = (Map<String, Map<String, Object>>)
                ((Map<String, Object>) JsonCodec.parse(r.out().strip())).get("peak_training_memory");
        assertEquals(List.of("naive", "shared", "recompute"), List.copyOf(mem.keySet()));
        for (MemoryMode m : MemoryMode.values()) {
            assertEquals(MemoryPlanner.plan(DenseNetConfig.preset("densenet-bc-100-12"), m, DType.F32,
                    64, 32, 32, true).totalBytes(), ((Number) mem.get(m.label()).get("total_bytes")).longValue(), m.label());
        }
        Cli.Run bf16 = Cli.run(dir, "info", "--model", "densenet-bc-100-12", "-b", "64", "--precision", "bf16", "--json");
        assertEquals(0, bf16.exit(), bf16.all());
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> half = (Map<String, Map<String, Object>>)
                ((Map<String, Object>) JsonCodec.parse(bf16.out().strip())).get("peak_training_memory");
        for (MemoryMode m : MemoryMode.values()) {
            long wide = ((Number) mem.get(m.label()).get("activation_bytes")).longValue();
            long narrow = ((Number) half.get(m.label()).get("activation_bytes")).longValue();
            assertEquals(MemoryPlanner.plan(DenseNetConfig.preset("densenet-bc-100-12"), m, DType.F32, DType.BF16,
                    64, 32, 32, true).totalBytes(), ((Number) half.get(m.label()).get("total_bytes")).longValue(), m.label() + " in bf16");
            assertTrue(narrow > 0.45 * wide && narrow < 0.55 * wide, m.label() + ": bf16 activations " + narrow + " against " + wide);
        }
        Cli.Run bad = Cli.run(dir, "info", "--precision", "fp8");
        assertEquals(2, bad.exit(), bad.all());
        assertTrue(bad.err().contains("fp8") && bad.err().contains("bf16"), bad.err());
        Cli.Run plain = Cli.run(dir, "info", "--model", "densenet-40-12");
        assertTrue(plain.out().contains("(as shared: no bottleneck layers to recompute)"), plain.out());

        Cli.Run table = Cli.run(dir, "info", "--model", "densenet121");
        assertEquals(0, table.exit(), table.all());
        assertTrue(table.out().contains("parameters  7,978,856") && table.out().contains("dense block 4"), table.out());
    }

    @Test
    void devicesListsTheCpuAndVersionNamesTheProgram() throws Exception {
        Cli.Run d = Cli.run(dir, "devices");
        assertEquals(0, d.exit(), d.all());
        assertTrue(d.out().startsWith("cpu"), d.out());
        Cli.Run v = Cli.run(dir, "--version");
        assertEquals(0, v.exit(), v.all());
        assertTrue(v.out().startsWith("densenet 0."), v.out());
        for (String cmd : List.of("train", "eval", "info", "devices")) {
            Cli.Run h = Cli.run(dir, cmd, "--help");
            assertEquals(0, h.exit(), h.all());
            assertTrue(h.out().startsWith("Usage: densenet " + cmd), h.out());
        }
    }

    private static double number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(-?[0-9.eE+-]+)").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return Double.parseDouble(m.group(1));
    }
}
