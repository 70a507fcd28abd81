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
 * twin and are recorded in the run header and the checkpoint; on a GPU, which has no 16-bit path yet, it is refused in one line
 * rather than run in FP32; --tf32 stays an alias of --precision tf32.
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

    @Test
    void sixteenBitsOnAGpuAreRefusedInOneLine() throws Exception {
        String libs = EmulatedGpu.nullDeviceFolder().toString();
        Cli.Run r = Cli.run(dir, Map.of("LD_LIBRARY_PATH", libs, "DENSENET_CUDA_LIBS", libs), train("--device", "cuda", "--precision", "bf16"));
        assertEquals(1, r.exit(), r.all());
        assertEquals("error: --precision bf16 does not run on a GPU yet (its 16-bit kernels and cuDNN layout are still to come): use fp32 or "
                + "tf32 there, or --device cpu for the CPU's bf16 twin", r.err().strip(), r.all());
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
