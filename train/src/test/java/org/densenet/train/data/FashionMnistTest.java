package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistTest {
    @TempDir
    Path dir;

    private void write(String prefix, int n, byte[] pixels, byte[] labels) throws IOException {
        Files.write(dir.resolve(prefix + "-images-idx3-ubyte.gz"), TestData.gzip(TestData.idx(0x803, new int[] {n, 28, 28}, pixels)));
        Files.write(dir.resolve(prefix + "-labels-idx1-ubyte.gz"), TestData.gzip(TestData.idx(0x801, new int[] {n}, labels)));
    }

    @Test
    void readsIdxGzFiles() throws IOException {
        byte[] px = TestData.randomPixels(5, 784, 3);
        write("t10k", 5, px, new byte[] {0, 9, 3, 3, 7});
        ArrayDataset d = FashionMnist.load(dir, false);
        assertEquals(5, d.size());
        assertEquals(1, d.channels());
        assertEquals(9, d.label(1));
        assertArrayEquals(Arrays.copyOfRange(px, 4 * 784, 5 * 784), d.image(4).pixels());
    }

    @Test
    void truncatedImagesAndBadLabelsAreNamed() throws IOException {
        Files.write(dir.resolve("t10k-images-idx3-ubyte.gz"),
                TestData.gzip(TestData.idx(0x803, new int[] {5, 28, 28}, TestData.randomPixels(4, 784, 1))));
        Files.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), TestData.gzip(TestData.idx(0x801, new int[] {5}, new byte[5])));
        DataException e = assertThrows(DataException.class, () -> FashionMnist.load(dir, false));
        assertTrue(e.getMessage().contains("t10k-images-idx3-ubyte.gz") && e.getMessage().contains("truncated"), e.getMessage());

        write("t10k", 2, TestData.randomPixels(2, 784, 1), new byte[] {1, 12});
        e = assertThrows(DataException.class, () -> FashionMnist.load(dir, false));
        assertTrue(e.getMessage().contains("t10k-labels-idx1-ubyte.gz: label 12 of image 1 is outside [0, 10)"), e.getMessage());
    }

    @Test
    void missingFolderSaysWhatToInstall() {
        DataException e = assertThrows(DataException.class, () -> FashionMnist.load(dir.resolve("none"), true));
        assertTrue(e.getMessage().contains("dataset-fashion-mnist"), e.getMessage());
    }

    @Test
    void installedDatasetHasTheOfficialSplits() {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.DEFAULT_FOLDER), "Fashion-MNIST is not installed in " + FashionMnist.DEFAULT_FOLDER);
        ArrayDataset test = FashionMnist.load(FashionMnist.DEFAULT_FOLDER, false);
        assertEquals(10_000, test.size());
        int[] perClass = new int[10];
        for (int i = 0; i < test.size(); i++) perClass[test.label(i)]++;
        for (int c = 0; c < 10; c++) assertEquals(1000, perClass[c], "test images of class " + c);
    }
}
