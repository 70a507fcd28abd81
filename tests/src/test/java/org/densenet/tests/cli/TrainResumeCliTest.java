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

/**
 * Training from the command line: a straight two-epoch run, and the same run stopped (by
 * --max-steps, by Ctrl-C) and resumed, which must end with the same weights bit for bit; the run
 * folder's outputs; divergence.
 */
class TrainResumeCliTest {
    @TempDir
    static Path dir;
    static Path data;
    /**
     * 5 x 64 = 320 training images at batch 24: 14 steps an epoch, the last one partial; dropout on,
     * so resuming must also continue the dropout masks.
     */
    static final String[] RUN = {"--depth", "10", "--growth", "4", "-b", "24", "--epochs", "2", "--dropout", "0.2",
            "--device", "cpu", "-j", "2", "--seed", "3"};

    @BeforeAll
    static void straightRun() throws Exception {
        data = Cli.cifar10(dir.resolve("cifar"), 64, 40, 11);
        Cli.Run straight = Cli.run(dir, train("--output", "straight"));
        assertEquals(0, straight.exit(), straight.all());
        assertTrue(straight.out().contains("epoch 2/2"), straight.out());
    }

    static String[] train(String... extra) {
        return Stream.of(Stream.of("train", "--data", data.toString()), Stream.of(RUN), Stream.of(extra))
                .flatMap(s -> s).toArray(String[]::new);
    }

    @Test
    void stoppedAfterMaxStepsAndResumedEndsWithTheStraightRunsWeightsBitForBit() throws Exception {
        Cli.Run first = Cli.run(dir, train("--output", "split", "--max-steps", "17"));
        assertEquals(0, first.exit(), first.all());
        assertTrue(first.out().contains("stopped after 17 steps (--max-steps) at epoch 2, batch 3"), first.all());
        Cli.Run rest = Cli.run(dir, "train", "--resume", "split/last.safetensors", "--device", "cpu", "-j", "1");
        assertEquals(0, rest.exit(), rest.all());
        assertTrue(rest.out().contains("resuming at epoch 2, batch 3 (step 17)"), rest.all());
        assertSameWeights(dir.resolve("straight/last.safetensors"), dir.resolve("split/last.safetensors"));
        // Every metric but speed and time repeats, the stopped epoch's training loss included.
        List<String> sa = Files.readAllLines(dir.resolve("straight/summary.csv")), sb = Files.readAllLines(dir.resolve("split/summary.csv"));
        assertEquals(3, sa.size());
        assertEquals(3, sb.size());
        for (int i = 1; i < 3; i++) assertEquals(metrics(sa.get(i)), metrics(sb.get(i)));
    }

    @Test
    void ctrlCFinishesTheStepSavesExitsWith130AndTheResumedRunMatchesTheStraightOne() throws Exception {
        Path out = dir.resolve("int-out.txt"), err = dir.resolve("int-err.txt");
        Process p = Cli.start(dir, out, err, train("--output", "interrupted", "--log-interval", "0.05"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(out).contains("top-1") && System.nanoTime() < deadline && p.isAlive()) Thread.sleep(20);
        assertTrue(p.isAlive(), "the run should still be training: " + Files.readString(out) + Files.readString(err));
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exits after the signal");
        String log = Files.readString(out) + Files.readString(err);
        assertEquals(130, p.exitValue(), log);
        assertTrue(log.contains("interrupted at epoch") && log.contains("continue with --resume"), log);
        Map<String, String> meta = SafeTensors.readMetadata(dir.resolve("interrupted/last.safetensors"));
        long stoppedAt = Long.parseLong(meta.get("state.global_step"));
        assertTrue(stoppedAt >= 1 && stoppedAt < 28, "stopped mid-run, at step " + stoppedAt);

        Cli.Run rest = Cli.run(dir, "train", "--resume", "interrupted/last.safetensors", "--device", "cpu");
        assertEquals(0, rest.exit(), rest.all());
        assertSameWeights(dir.resolve("straight/last.safetensors"), dir.resolve("interrupted/last.safetensors"));
    }

    @Test
    void killedOutrightTheRunResumesFromItsLatestCheckpointWithinTheEpochAndEndsLikeTheStraightOne() throws Exception {
        // --checkpoint-every of 6 ms: a save after every step, as a long epoch gets one every 30 minutes by default
        Path out = dir.resolve("kill-out.txt"), err = dir.resolve("kill-err.txt");
        Process p = Cli.start(dir, out, err, train("--output", "killed", "--checkpoint-every", "0.0001"));
        Path last = dir.resolve("killed/last.safetensors");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (step(last) < 3 && System.nanoTime() < deadline && p.isAlive()) Thread.sleep(5);
        long seen = step(last);
        assertTrue(p.isAlive(), "the run should still be training: " + Files.readString(out) + Files.readString(err));
        p.destroyForcibly();  // SIGKILL: nothing runs after it, no shutdown hook, no last save
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(137, p.exitValue(), "killed by signal 9");
        assertTrue(seen >= 3 && seen < 14, "saved within the first epoch (14 steps), at step " + seen);
        long savedAt = step(last);
        assertTrue(savedAt >= seen && savedAt < 28, "the checkpoint the kill left, at step " + savedAt);

        Cli.Run rest = Cli.run(dir, "train", "--resume", "killed/last.safetensors", "--device", "cpu");
        assertEquals(0, rest.exit(), rest.all());
        assertTrue(rest.out().contains("(step " + savedAt + ")"), rest.all());
        assertSameWeights(dir.resolve("straight/last.safetensors"), last);
    }

    /** The step a checkpoint was saved at, -1 while there is none. */
    private static long step(Path checkpoint) {
        try {
            return Long.parseLong(SafeTensors.readMetadata(checkpoint).get("state.global_step"));
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    @Test
    void resumingAFinishedRunWithMoreEpochsExtendsItAndSaysTheScheduleChanged() throws Exception {
        Cli.Run one = Cli.run(dir, "train", "--data", data.toString(), "--depth", "10", "--growth", "4", "-b", "24", "--epochs", "1",
                "--device", "cpu", "-j", "2", "--seed", "3", "--output", "extend");
        assertEquals(0, one.exit(), one.all());
        Cli.Run more = Cli.run(dir, "train", "--resume", "extend/last.safetensors", "--epochs", "2", "--device", "cpu");
        assertEquals(0, more.exit(), more.all());
        assertTrue(more.out().contains("note: --epochs 2 changes this 1-epoch run to 2 epochs; the learning rate now follows step: lr 0.1"
                + " x0.1 at epochs [1]; the 1 epoch already trained followed the old schedule"), more.out());
        assertTrue(more.out().contains("epoch 2/2"), more.out());
        List<String> csv = Files.readAllLines(dir.resolve("extend/summary.csv"));
        assertEquals(3, csv.size(), csv.toString());
        assertTrue(csv.get(2).startsWith("2,0.0100000,"), "the recipe's milestone at 50% of the new 2 epochs: " + csv.get(2));
        assertEquals("2", SafeTensors.readMetadata(dir.resolve("extend/last.safetensors")).get("config.epochs"));

        Cli.Run fewer = Cli.run(dir, "train", "--resume", "extend/last.safetensors", "--epochs", "2", "--device", "cpu");
        assertEquals(0, fewer.exit(), fewer.all());
        assertTrue(!fewer.out().contains("note: --epochs"), "the same --epochs changes nothing: " + fewer.out());
        Cli.Run done = Cli.run(dir, "train", "--resume", "extend/last.safetensors", "--epochs", "1", "--device", "cpu");
        assertEquals(2, done.exit(), done.all());
        assertTrue(done.err().startsWith("error: the checkpoint has already trained 2 of its 2 epochs; give --epochs above 2"), done.err());
    }

    @Test
    void aChangedSettingOnResumeIsRefusedOnceByItsOption() throws Exception {
        Cli.Run r = Cli.run(dir, "train", "--resume", "straight/last.safetensors", "--lr", "0.5", "--growth", "6", "--depth", "10",
                "--device", "cpu");
        assertEquals(2, r.exit(), r.all());
        assertEquals("error: --resume continues a run with its own settings; these options differ from it:"
                + " --depth/--growth (model densenet-bc-10-4 in the checkpoint, densenet-bc-10-6 given);"
                + " --lr (lr 0.1 in the checkpoint, 0.5 given). Drop them, or start a new run without --resume (--epochs may change:"
                + " it extends the run)", r.err().lines().findFirst().orElse(""));
    }

    @Test
    void runFolderHoldsArgumentsSummaryEventsPlotAndCheckpoints() throws Exception {
        Path run = dir.resolve("straight");
        String args = Files.readString(run.resolve("args.json"));
        assertTrue(args.contains("\"dataset\":\"cifar10\"") && args.contains("\"model.dropout\":\"0.2\""), args);
        List<String> csv = Files.readAllLines(run.resolve("summary.csv"));
        assertEquals("epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top5,images_per_s,seconds,data_wait_s", csv.get(0));
        assertEquals(3, csv.size());
        assertTrue(csv.get(2).startsWith("2,0.0100000,"), "lr divided by 10 at 50% of 2 epochs: " + csv.get(2));
        for (String row : csv.subList(1, 3)) {
            String[] f = row.split(",");
            double seconds = Double.parseDouble(f[8]), waited = Double.parseDouble(f[9]);
            assertTrue(waited >= 0 && waited < seconds, "time waiting for batches is part of the epoch's: " + row);
        }
        BufferedImage png = ImageIO.read(run.resolve("curves.png").toFile());
        assertEquals(1000, png.getWidth());
        try (Stream<Path> s = Files.list(run)) {
            Path events = s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).findFirst().orElseThrow();
            assertTrue(Files.size(events) > 300, "event file holds the scalars");
        }
        assertTrue(Files.isRegularFile(run.resolve("best.safetensors")));
        Map<String, String> meta = SafeTensors.readMetadata(run.resolve("last.safetensors"));
        assertEquals("2", meta.get("state.epoch"));
        assertEquals("28", meta.get("state.global_step"));
        assertEquals("3", meta.get("rng.seed"));
    }

    @Test
    void nonFiniteLossStopsWithStatus3AndSaysWhere() throws Exception {
        Cli.Run r = Cli.run(dir, train("--lr", "1e12", "--output", "diverged"));
        assertEquals(3, r.exit(), r.all());
        assertTrue(r.err().contains("training diverged: the loss is") && r.err().contains("at epoch 1, batch"), r.err());
    }

    private static String metrics(String csvLine) {
        String[] f = csvLine.split(",");
        return String.join(",", List.of(f).subList(0, 7));
    }

    private static void assertSameWeights(Path expected, Path actual) throws Exception {
        Map<String, HostTensor> a = SafeTensors.read(expected), b = SafeTensors.read(actual);
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
    }
}
