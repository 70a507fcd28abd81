package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CifarTest {
    @TempDir
    Path dir;

    private static final int N = 7;

    private Map<String, byte[]> cifar10Files(int[][] labels, byte[][] pixels) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        int i = 0;
        for (String f : Cifar.CIFAR10.trainFiles()) {
            labels[i] = TestData.randomLabels(N, 10, i);
            pixels[i] = TestData.randomPixels(N, Cifar.PIXELS, 100 + i);
            m.put(f, Cifar.encode(Cifar.CIFAR10, labels[i], pixels[i]));
            i++;
        }
        labels[i] = TestData.randomLabels(N, 10, i);
        pixels[i] = TestData.randomPixels(N, Cifar.PIXELS, 100 + i);
        m.put("test_batch.bin", Cifar.encode(Cifar.CIFAR10, labels[i], pixels[i]));
        return m;
    }

    @Test
    void readsFolderAndArchiveToTheSamePixelsAndLabels() throws IOException {
        int[][] labels = new int[6][];
        byte[][] pixels = new byte[6][];
        Map<String, byte[]> files = cifar10Files(labels, pixels);
        Path folder = Files.createDirectories(dir.resolve("f/cifar-10-batches-bin"));
        for (var e : files.entrySet()) Files.write(folder.resolve(e.getKey()), e.getValue());
        Path archiveDir = Files.createDirectories(dir.resolve("a"));
        TestData.writeTarGz(archiveDir.resolve("cifar-10-binary.tar.gz"), "cifar-10-batches-bin", files);

        for (Path loc : new Path[] {dir.resolve("f"), folder, archiveDir, archiveDir.resolve("cifar-10-binary.tar.gz")}) {
            ArrayDataset train = Cifar.load(Cifar.CIFAR10, loc, true, false);
            assertEquals(5 * N, train.size(), loc.toString());
            for (int b = 0; b < 5; b++) {
                for (int i = 0; i < N; i++) {
                    int idx = b * N + i;
                    assertEquals(labels[b][i], train.label(idx));
                    assertArrayEquals(Arrays.copyOfRange(pixels[b], i * Cifar.PIXELS, (i + 1) * Cifar.PIXELS), train.image(idx).pixels());
                }
            }
            ArrayDataset test = Cifar.load(Cifar.CIFAR10, loc, false, false);
            assertEquals(N, test.size());
            assertEquals(labels[5][3], test.label(3));
        }
    }

    @Test
    void cifar100UsesTheFineLabel() throws IOException {
        int[] labels = {0, 99, 42};
        byte[] px = TestData.randomPixels(3, Cifar.PIXELS, 9);
        Files.write(dir.resolve("train.bin"), Cifar.encode(Cifar.CIFAR100, labels, px));
        ArrayDataset d = Cifar.load(Cifar.CIFAR100, dir, true, false);
        assertEquals(100, d.numClasses());
        assertEquals(99, d.label(1));
        assertEquals(42, d.label(2));
        assertArrayEquals(Arrays.copyOfRange(px, Cifar.PIXELS, 2 * Cifar.PIXELS), d.image(1).pixels());
    }

    @Test
    void truncatedFileIsNamedWithItsSize() throws IOException {
        byte[] rec = Cifar.encode(Cifar.CIFAR10, new int[] {1, 2}, TestData.randomPixels(2, Cifar.PIXELS, 1));
        Files.write(dir.resolve("test_batch.bin"), Arrays.copyOf(rec, rec.length - 100));
        DataException e = assertThrows(DataException.class, () -> Cifar.load(Cifar.CIFAR10, dir, false, false));
        assertTrue(e.getMessage().contains("test_batch.bin"), e.getMessage());
        assertTrue(e.getMessage().contains("not a whole number of 3073-byte"), e.getMessage());
    }

    @Test
    void labelOutOfRangeNamesFileAndRecord() throws IOException {
        byte[] rec = Cifar.encode(Cifar.CIFAR10, new int[] {1, 2, 3}, TestData.randomPixels(3, Cifar.PIXELS, 1));
        rec[2 * 3073] = 17;
        Files.write(dir.resolve("test_batch.bin"), rec);
        DataException e = assertThrows(DataException.class, () -> Cifar.load(Cifar.CIFAR10, dir, false, false));
        assertTrue(e.getMessage().contains("test_batch.bin: record 2 has label 17, outside [0, 10)"), e.getMessage());
    }

    @Test
    void missingDataSaysWhatToPass() {
        DataException e = assertThrows(DataException.class, () -> Cifar.load(Cifar.CIFAR10, dir.resolve("nope"), true, false));
        assertTrue(e.getMessage().contains("--download"), e.getMessage());
        assertTrue(e.getMessage().contains("data_batch_1.bin"), e.getMessage());
    }

    @Test
    void missingFileOfAFolderIsNamed() throws IOException {
        int[][] labels = new int[6][];
        byte[][] pixels = new byte[6][];
        for (var e : cifar10Files(labels, pixels).entrySet()) {
            if (!e.getKey().equals("data_batch_4.bin")) Files.write(dir.resolve(e.getKey()), e.getValue());
        }
        DataException e = assertThrows(DataException.class, () -> Cifar.load(Cifar.CIFAR10, dir, true, false));
        assertEquals(dir.resolve("data_batch_4.bin") + ": missing (the other cifar10 files are in " + dir + ")", e.getMessage());
    }

    @Test
    void missingMemberOfArchiveIsNamed() throws IOException {
        Path a = dir.resolve("cifar-10-binary.tar.gz");
        TestData.writeTarGz(a, "cifar-10-batches-bin", Map.of("data_batch_1.bin", new byte[3073]));
        DataException e = assertThrows(DataException.class, () -> Cifar.load(Cifar.CIFAR10, a, true, false));
        assertTrue(e.getMessage().contains("archive has no member data_batch_2.bin"), e.getMessage());
    }

    @Test
    void downloadFailureIsOneClearMessage() {
        // Port 9 on the loopback interface refuses connections: the same path as being offline.
        DataException e = assertThrows(DataException.class,
                () -> Download.fetch("http://127.0.0.1:9/cifar-10-binary.tar.gz", dir.resolve("x.tar.gz"), "00"));
        assertTrue(e.getMessage().startsWith("cannot download http://127.0.0.1:9/cifar-10-binary.tar.gz"), e.getMessage());
    }
}
