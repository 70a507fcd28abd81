package org.densenet.tests.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.densenet.engine.cuda.EmulatedGpu;
import org.densenet.engine.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --precision on the command line: bf16 and fp16 (with its loss scaler) train on the CPU as the 16-bit
 * twin and on a GPU (here the emulated one) with 16-bit activations, and are recorded in the run header
 * and the checkpoint; --tf32 stays an alias of --precision tf32.
 */
class PrecisionCliTest {
    @TempDir
    Path dir;

    private static final String[] TINY = {"--dataset", "synthetic", "--image-size", "8", "--depth", "10", "--growth", "4", "-b", "8",
            "--epochs", "1", "--max-steps", "2", "-j", "1", "--seed", "3"};

    private static String[] train(String... extra) {
        String[] a = new String[1 + TINY.length + extra.length];
        a[0] = "train";
        System.arraycopy(TINY, 0, a, 1, TINY.length);
        System.arraycopy(extra, 0, a, 1 + TINY.length, extra.length);
        return a;
    }

    @Test
    void bf16TrainsOnTheCpuAndTheCheckpointSaysSo() throws Exception {
        Cli.Run r = Cli.run(dir, train("--device", "cpu", "--precision", "bf16", "--output", "run"));
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("precision bf16"), r.all());
        assertEquals("bf16", SafeTensors.readMetadata(dir.resolve("run/last.safetensors")).get("config.precision"));
    }

    @Test
    void fp16TrainsOnTheCpuWithLossScalingAndTheCheckpointKeepsTheScaler() throws Exception {
        Cli.Run r = Cli.run(dir, train("--device", "cpu", "--precision", "fp16", "--output", "half"));
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("precision fp16"), r.all());
        Map<String, String> meta = SafeTensors.readMetadata(dir.resolve("half/last.safetensors"));
        assertEquals("fp16", meta.get("config.precision"));
        float scale = Float.parseFloat(meta.get("scaler.scale"));
        long skipped = Long.parseLong(meta.get("scaler.skipped_steps"));
        assertEquals(65536f, scale * (float) Math.pow(2, skipped), "GradScaler's initial 2^16, halved once per skipped step: " + meta);

        // the first step's update blows the weights up: every later forward overflows, each step is skipped, and 20 in a row end the run
        String[] longer = train("--device", "cpu", "--precision", "fp16", "--lr", "1e12", "--output", "blown");
        longer[java.util.Arrays.asList(longer).indexOf("--max-steps") + 1] = "40";
        longer[java.util.Arrays.asList(longer).indexOf("--epochs") + 1] = "40";
        Cli.Run diverged = Cli.run(dir, longer);
        assertEquals(3, diverged.exit(), diverged.all());
        assertTrue(diverged.out().contains("the loss scaler skipped the step; 20 such steps in a row end the run"), diverged.all());
        assertTrue(diverged.err().contains("training diverged") && diverged.err().contains("In fp16 that is 20 steps in a row"),
                diverged.all());
    }

    /** The emulated GPU found through the library search, as on a machine with one: 16-bit activations, CUDA graphs on. */
    @Test
    void bf16AndFp16TrainOnTheEmulatedGpuWithSixteenBitActivations() throws Exception {
        String libs = EmulatedGpu.libraryFolder().toString();
        Map<String, String> env = Map.of("LD_LIBRARY_PATH", libs, "DENSENET_CUDA_LIBS", libs);
        for (String p : new String[] {"bf16", "fp16"}) {
            Cli.Run r = Cli.run(dir, env, train("--device", "cuda", "--precision", p, "--output", "gpu-" + p));
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.out().contains("precision " + p) && r.out().contains("on cuda:0 CUDA emulator"), r.all());
            Map<String, String> meta = SafeTensors.readMetadata(dir.resolve("gpu-" + p + "/last.safetensors"));
            assertEquals(p, meta.get("config.precision"));
            assertEquals(p.equals("fp16"), meta.containsKey("scaler.scale"), "fp16 keeps its loss scaler, bf16 has none: " + meta);
        }
    }

    @Test
    void tf32IsAnAliasThatMustNotContradictPrecision() throws Exception {
        Cli.Run r = Cli.run(dir, train("--device", "cpu", "--tf32", "--precision", "bf16"));
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.err().contains("--tf32 means --precision tf32; it contradicts --precision bf16"), r.all());
        Cli.Run bad = Cli.run(dir, train("--device", "cpu", "--precision", "fp8"));
        assertEquals(2, bad.exit(), bad.all());
        assertTrue(bad.err().contains("precision 'fp8' is not one of fp32, tf32, bf16, fp16"), bad.all());
    }
}
