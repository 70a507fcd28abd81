package org.densenet.tests.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training from the command line: outputs, exact resume after a stop, Ctrl-C, divergence. */
class TrainResumeCliTest {
    @TempDir
    static Path dir;
    static Path data;
    /** 5 x 24 = 120 training images at batch 16: 8 steps an epoch, the last one partial. */
    static final String[] TINY = {"--depth", "10", "--growth", "4", "-b", "16", "--device", "cpu", "-j", "2", "--seed", "3"};

    @BeforeAll
    static void data() throws Exception {
        data = Cli.cifar10(dir.resolve("cifar"), 24, 40, 11);
    }

    static String[] train(String... extra) {
        boolean epochsGiven = Stream.of(extra).anyMatch("--epochs"::equals);
        return Stream.of(Stream.of("train", "--data", data.toString()), Stream.of(TINY),
                epochsGiven ? Stream.<String>empty() : Stream.of("--epochs", "2"), Stream.of(extra))
                .flatMap(s -> s).toArray(String[]::new);
    }

    @Test
    void stoppedAndResumedRunEndsWithTheSameWeightsBitForBitAsAStraightRun() throws Exception {
        Cli.Run straight = Cli.run(dir, train("--dropout", "0.2", "--output", "straight"));
        assertEquals(0, straight.exit(), straight.all());

        Cli.Run first = Cli.run(dir, train("--dropout", "0.2", "--output", "split", "--max-steps", "11"));
        assertEquals(0, first.exit(), first.all());
        assertTrue(first.out().contains("stopped after 11 steps (--max-steps) at epoch 2, batch 3"), first.all());
        Cli.Run rest = Cli.run(dir, "train", "--resume", "split/last.safetensors", "--device", "cpu");
        assertEquals(0, rest.exit(), rest.all());
        assertTrue(rest.out().contains("resuming at epoch 2, batch 3 (step 11)"), rest.all());

        Map<String, HostTensor> a = SafeTensors.read(dir.resolve("straight/last.safetensors"));
        Map<String, HostTensor> b = SafeTensors.read(dir.resolve("split/last.safetensors"));
        assertEquals(a.keySet(), b.keySet());
        assertTrue(a.containsKey("features.denseblock1.denselayer1.conv2.weight") && a.containsKey("optimizer.momentum_buffer"));
        for (String k : a.keySet()) {
            HostTensor x = a.get(k), y = b.get(k);
            if (x.dtype() == HostTensor.Kind.I64) {
                assertArrayEquals(x.toLongArray(), y.toLongArray(), k);
            } else {
                float[] fx = x.toFloatArray(), fy = y.toFloatArray();
                for (int i = 0; i < fx.length; i++) {
                    assertEquals(Float.floatToRawIntBits(fx[i]), Float.floatToRawIntBits(fy[i]), k + "[" + i + "]");
                }
            }
        }
        // Every metric but speed and time repeats, the stopped epoch's training loss included.
        List<String> sa = Files.readAllLines(dir.resolve("straight/summary.csv")), sb = Files.readAllLines(dir.resolve("split/summary.csv"));
        assertEquals(3, sa.size());
        assertEquals(3, sb.size());
        for (int i = 1; i < 3; i++) assertEquals(metrics(sa.get(i)), metrics(sb.get(i)));
    }

    private static String metrics(String csvLine) {
        String[] f = csvLine.split(",");
        return String.join(",", List.of(f).subList(0, 7));
    }

    @Test
    void runFolderHoldsArgumentsSummaryEventsPlotAndCheckpoints() throws Exception {
        Cli.Run r = Cli.run(dir, train("--output", "outputs", "--schedule", "cosine", "--warmup", "0.5"));
        assertEquals(0, r.exit(), r.all());
        Path run = dir.resolve("outputs");
        String args = Files.readString(run.resolve("args.json"));
        assertTrue(args.contains("\"dataset\":\"cifar10\"") && args.contains("\"schedule\":\"cosine\""), args);
        List<String> csv = Files.readAllLines(run.resolve("summary.csv"));
        assertEquals("epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top5,images_per_s,seconds", csv.get(0));
        assertEquals(3, csv.size());
        assertTrue(csv.get(2).startsWith("2,"), csv.get(2));
        BufferedImage png = ImageIO.read(run.resolve("curves.png").toFile());
        assertEquals(1000, png.getWidth());
        try (Stream<Path> s = Files.list(run)) {
            Path events = s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).findFirst().orElseThrow();
            assertTrue(Files.size(events) > 300, "event file holds the scalars");
        }
        assertTrue(Files.isRegularFile(run.resolve("best.safetensors")));
        Map<String, String> meta = SafeTensors.readMetadata(run.resolve("last.safetensors"));
        assertEquals("2", meta.get("state.epoch"));
        assertEquals("16", meta.get("state.global_step"));
        assertEquals("3", meta.get("rng.seed"));
        assertTrue(r.out().contains("epoch 2/2"), r.out());
    }

    @Test
    void ctrlCFinishesTheStepSavesAndExitsWith130() throws Exception {
        Path out = dir.resolve("int-out.txt"), err = dir.resolve("int-err.txt");
        Process p = Cli.start(dir, out, err, train("--epochs", "500", "--output", "interrupted", "--log-interval", "0.05"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(out).contains("top-1") && System.nanoTime() < deadline && p.isAlive()) Thread.sleep(100);
        assertTrue(p.isAlive(), "the run should still be training: " + Files.readString(out) + Files.readString(err));
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exits after the signal");
        String log = Files.readString(out) + Files.readString(err);
        assertEquals(130, p.exitValue(), log);
        assertTrue(log.contains("interrupted at epoch") && log.contains("continue with --resume"), log);
        Map<String, String> meta = SafeTensors.readMetadata(dir.resolve("interrupted/last.safetensors"));
        assertTrue(Long.parseLong(meta.get("state.global_step")) >= 1, meta.toString());
    }

    @Test
    void nonFiniteLossStopsWithStatus3AndSaysWhere() throws Exception {
        Cli.Run r = Cli.run(dir, train("--lr", "1e12", "--output", "diverged"));
        assertEquals(3, r.exit(), r.all());
        assertTrue(r.err().contains("training diverged: the loss is") && r.err().contains("at epoch 1, batch"), r.err());
    }
}
