package org.densenet.tests.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
    void missingFolderSaysWhereItLookedAndWhatToPass() throws Exception {
        Cli.Run r = train(dir.resolve("nowhere"));
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.err().startsWith("error: cifar10 data not found in " + dir.resolve("nowhere")), r.err());
        assertTrue(r.err().contains("--download"), r.err());
        Cli.Run resume = Cli.run(dir, "train", "--resume", "no/such/last.safetensors");
        assertEquals(1, resume.exit(), resume.all());
        assertTrue(resume.err().startsWith("error: ") && resume.err().contains("no/such/last.safetensors"), resume.err());
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

        Cli.Run dataset = Cli.run(dir, "train", "--dataset", "mnist");
        assertEquals(2, dataset.exit(), dataset.all());
        assertTrue(dataset.err().startsWith("error: unknown dataset 'mnist'; choose one of cifar10, cifar100, fashion-mnist"), dataset.err());

        Cli.Run device = Cli.run(dir, "train", "--device", "tpu");
        assertEquals(2, device.exit(), device.all());
        assertTrue(device.err().contains("device 'tpu' is not one of auto, cpu, cuda, cuda:N"), device.err());

        Cli.Run none = Cli.run(dir);
        assertEquals(2, none.exit(), none.all());
        assertTrue(none.err().startsWith("no command given"), none.err());
    }
}
