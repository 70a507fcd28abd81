package org.densenet.tests.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of bad input ends the command with its own message and exit status, before any training. */
class BadInputCliTest {
    @TempDir
    Path dir;

    private Cli.Run train(Path data, String... extra) throws Exception {
        String[] base = {"train", "--data", data.toString(), "--depth", "10", "--growth", "4", "--epochs", "1", "--device", "cpu",
                "--output", "run"};
        String[] all = Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return Cli.run(dir, all);
    }

    @Test
    void truncatedFileIsNamedWithWhatIsWrong() throws Exception {
        Path data = Cli.cifar10(dir.resolve("c"), 4, 4, 1);
        Path f = data.resolve("data_batch_3.bin");
        Files.write(f, Arrays.copyOf(Files.readAllBytes(f), 3 * 3073 + 1000));
        Cli.Run r = train(data);
        assertEquals(1, r.exit(), r.all());
        assertEquals("error: " + f + ": size 10219 bytes is not a whole number of 3073-byte cifar10 records"
                + " (file truncated or not cifar10 binary data)", r.err().strip());
    }

    @Test
    void labelOutOfRangeIsNamedWithItsRecord() throws Exception {
        Path data = Cli.cifar10(dir.resolve("c"), 4, 4, 1);
        byte[] b = Files.readAllBytes(data.resolve("test_batch.bin"));
        b[2 * 3073] = 10;
        Files.write(data.resolve("test_batch.bin"), b);
        Cli.Run r = train(data);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.err().startsWith("error: " + data.resolve("test_batch.bin") + ": record 2 has label 10, outside [0, 10)"), r.err());
    }

    @Test
    void aNetworkTooLargeForTheDeviceFailsBeforeTrainingWithWhatWouldFit() throws Exception {
        // about 363 GiB naive, 32 GiB recompute at this batch: more than any test machine's default heap
        Cli.Run r = Cli.run(dir, "train", "--dataset", "synthetic", "--model", "densenet-bc-190-40", "-b", "1024", "--memory", "naive",
                "--device", "cpu", "--output", "big");
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.err().startsWith("error: densenet-bc-190-40 needs about 362."), r.err());
        assertTrue(r.err().contains("GiB to train at batch 1024 on 32x32 images in naive memory mode, more than the")
                && r.err().contains("the Java heap's limit") && r.err().contains("DENSENET_JAVA_OPTS=-Xmx"), r.err());
        assertTrue(r.err().contains("the largest batch that fits is"), r.err());
        assertTrue(!r.err().contains("Exception") && !r.err().contains("\tat "), "no stack trace: " + r.err());
        assertTrue(!Files.exists(dir.resolve("big")), "nothing written before the check");
    }

    @Test
    void missingFolderSaysWhereItLookedAndWhatToPass() throws Exception {
        Cli.Run r = train(dir.resolve("nowhere"), "--dataset", "cifar10");
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.err().startsWith("error: cifar10 data not found in " + dir.resolve("nowhere")), r.err());
        assertTrue(r.err().contains("--download"), r.err());
        Cli.Run auto = train(dir.resolve("nowhere"));
        assertEquals(1, auto.exit(), auto.all());
        assertEquals("error: " + dir.resolve("nowhere") + ": data folder not found", auto.err().strip());
        Cli.Run resume = Cli.run(dir, "train", "--resume", "no/such/last.safetensors");
        assertEquals(1, resume.exit(), resume.all());
        assertTrue(resume.err().startsWith("error: ") && resume.err().contains("no/such/last.safetensors"), resume.err());
    }

    @Test
    void corruptImageNetImageIsSkippedCountedAndReported() throws Exception {
        Path root = dir.resolve("imagenet");
        for (String split : new String[] {"train", "val"}) {
            for (String wnid : new String[] {"n01440764", "n01443537"}) {
                Path c = Files.createDirectories(root.resolve(split).resolve(wnid));
                for (int i = 0; i < 2; i++) {
                    BufferedImage img = new BufferedImage(50 + 7 * i, 40, BufferedImage.TYPE_INT_RGB);
                    img.setRGB(3, 4, wnid.endsWith("4") ? 0xFF2010 : 0x1020FF);
                    ImageIO.write(img, "jpg", c.resolve(wnid + "_" + i + ".JPEG").toFile());
                }
            }
        }
        Path bad = root.resolve("train/n01443537/broken.JPEG");
        Files.write(bad, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 'n', 'o', 'p', 'e'});
        Cli.Run r = Cli.run(dir, "train", "--dataset", "imagenet", "--data", root.toString(), "--depth", "10", "--growth", "2",
                "--epochs", "1", "-b", "5", "--device", "cpu", "--output", "imagenet-run");
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("data: imagenet train (5 images), imagenet val (4 images)"), r.out());
        assertTrue(r.out().contains("\ndecoder: libjpeg-turbo from ") || r.out().contains("\ndecoder: javax.imageio, full-size decode"), r.out());
        assertTrue(r.out().contains("skipped 1 undecodable image this epoch (first: " + bad + ": undecodable image"), r.out());
    }

    @Test
    void weightsWithAHostileHeaderAreOneErrorLine() throws Exception {
        byte[] header = ("{\"a\":" + "[".repeat(200_000) + "]".repeat(200_000) + "}").getBytes(StandardCharsets.UTF_8);
        Path deep = dir.resolve("deep.safetensors");
        Files.write(deep, ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header).array());
        Cli.Run r = Cli.run(dir, "eval", "--weights", deep.toString(), "--dataset", "synthetic", "--device", "cpu");
        assertEquals(1, r.exit(), r.all());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("error: " + deep + ": header is JSON beyond this program's limits: Document nesting depth"), r.err());
        assertTrue(!r.err().contains("StackOverflowError") && !r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test
    void nonsenseFlagsAreUsageErrorsWithStatus2() throws Exception {
        Cli.Run unknown = Cli.run(dir, "train", "--epohcs", "3");
        assertEquals(2, unknown.exit(), unknown.all());
        assertTrue(unknown.err().startsWith("Unknown options: '--epohcs', '3'"), unknown.err());
        assertTrue(unknown.err().contains("Possible solutions: --epochs"), unknown.err());
        assertTrue(unknown.err().contains("Usage: densenet train"), unknown.err());

        Cli.Run notNumber = Cli.run(dir, "train", "-b", "many");
        assertEquals(2, notNumber.exit(), notNumber.all());
        assertTrue(notNumber.err().contains("'many' is not an int"), notNumber.err());

        Cli.Run depth = Cli.run(dir, "train", "--depth", "11");
        assertEquals(2, depth.exit(), depth.all());
        assertTrue(depth.err().startsWith("error: depth 11 is not 6n+4"), depth.err());
        assertTrue(depth.err().contains("Usage: densenet train"), depth.err());

        // Usage errors come before any dataset is looked for or file read, whatever this machine has installed.
        Cli.Run evalDepth = Cli.run(dir, "eval", "--weights", "no-such.safetensors", "--depth", "11");
        assertEquals(2, evalDepth.exit(), evalDepth.all());
        assertTrue(evalDepth.err().startsWith("error: depth 11 is not 6n+4"), evalDepth.err());
        Cli.Run exportDepth = Cli.run(dir, "export", "--weights", "no-such.safetensors", "--depth", "11");
        assertEquals(2, exportDepth.exit(), exportDepth.all());
        Cli.Run predictDepth = Cli.run(dir, "predict", "--weights", "no-such.safetensors", "x.png", "--depth", "11");
        assertEquals(2, predictDepth.exit(), predictDepth.all());
        Cli.Run dataBatch = Cli.run(dir, "bench", "data", "--data", dir.resolve("nowhere").toString(), "-b", "0");
        assertEquals(2, dataBatch.exit(), dataBatch.all());

        Cli.Run dataset = Cli.run(dir, "train", "--dataset", "mnist");
        assertEquals(2, dataset.exit(), dataset.all());
        assertTrue(dataset.err().startsWith("error: unknown dataset 'mnist'; choose one of cifar10, cifar100, fashion-mnist"), dataset.err());

        Cli.Run device = Cli.run(dir, "train", "--device", "tpu");
        assertEquals(2, device.exit(), device.all());
        assertTrue(device.err().contains("device 'tpu' is not one of auto, cpu, cuda, cuda:N"), device.err());

        Cli.Run every = Cli.run(dir, "train", "--checkpoint-every", "-5");
        assertEquals(2, every.exit(), every.all());
        assertTrue(every.err().startsWith("error: --checkpoint-every must be >= 0 minutes, got -5.0"), every.err());

        Cli.Run syncAlone = Cli.run(dir, "train", "--sync-bn", "--device", "cpu");
        assertEquals(2, syncAlone.exit(), syncAlone.all());
        assertTrue(syncAlone.err().startsWith("error: --sync-bn synchronises batch norm across data-parallel GPUs: it needs --gpus N"),
                syncAlone.err());

        Cli.Run none = Cli.run(dir);
        assertEquals(2, none.exit(), none.all());
        assertTrue(none.err().startsWith("no command given"), none.err());
    }
}
