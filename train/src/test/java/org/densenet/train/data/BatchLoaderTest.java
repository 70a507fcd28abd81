package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchLoaderTest {
    private static final int N = 53;
    private static final ArrayDataset DATA = new ArrayDataset("t", 10, 3, 32, 32,
            TestData.randomPixels(N, 3072, 1), TestData.randomLabels(N, 10, 2));

    private static List<byte[]> epoch(int workers, int epoch, int first, List<int[]> labelsOut) {
        List<byte[]> out = new ArrayList<>();
        Transform t = new PadCropFlip(3, 32, 32, 4, true, Normalization.CIFAR10);
        try (BatchLoader l = new BatchLoader(DATA, t, 8, workers);
             BatchLoader.Epoch e = l.epoch(BatchLoader.shuffled(N, 42, epoch), 42, epoch, first)) {
            while (e.hasNext()) {
                Batch b = e.next();
                out.add(Arrays.copyOf(b.pixels(), b.size() * 3072));
                labelsOut.add(Arrays.copyOf(b.labels(), b.size()));
            }
        }
        return out;
    }

    @Test
    void batchesDoNotDependOnWorkerCountAndResumeMidEpochExactly() {
        List<int[]> l1 = new ArrayList<>(), l3 = new ArrayList<>(), lr = new ArrayList<>();
        List<byte[]> one = epoch(1, 3, 0, l1);
        List<byte[]> three = epoch(3, 3, 0, l3);
        List<byte[]> resumed = epoch(2, 3, 4, lr);
        assertEquals(7, one.size());
        assertEquals(5, one.get(6).length / 3072, "last batch holds the remainder");
        for (int i = 0; i < one.size(); i++) {
            assertArrayEquals(one.get(i), three.get(i));
            assertArrayEquals(l1.get(i), l3.get(i));
        }
        assertEquals(3, resumed.size());
        for (int i = 0; i < 3; i++) assertArrayEquals(one.get(4 + i), resumed.get(i));
    }

    @Test
    void shuffleIsAPermutationThatChangesEachEpoch() {
        int[] a = BatchLoader.shuffled(1000, 5, 0), b = BatchLoader.shuffled(1000, 5, 1);
        assertArrayEquals(BatchLoader.identity(1000), Arrays.stream(a).sorted().toArray());
        assertFalse(Arrays.equals(a, b));
        assertArrayEquals(a, BatchLoader.shuffled(1000, 5, 0));
    }

    @Test
    void undecodableImagesAreSkippedAndCounted(@TempDir Path dir) throws IOException {
        for (String cls : new String[] {"n01", "n02"}) {
            Path c = Files.createDirectories(dir.resolve("val").resolve(cls));
            for (int i = 0; i < 3; i++) {
                BufferedImage img = new BufferedImage(40 + i, 30, BufferedImage.TYPE_INT_RGB);
                img.setRGB(i, i, 0xFF8040);
                ImageIO.write(img, "png", c.resolve("img" + i + ".png").toFile());
            }
        }
        Files.write(dir.resolve("val/n02/broken.JPEG"), new byte[] {(byte) 0xFF, (byte) 0xD8, 1, 2, 3});
        ImageFolder data = ImageFolder.load(dir, "val");
        assertEquals(2, ImageFolder.classCount(dir, "val"));
        Files.writeString(dir.resolve("train_list.txt"), "# path label\n../val/n01/img0.png 0\nn09/gone.JPEG 4\n");
        Files.createDirectories(dir.resolve("train"));
        ImageFolder listed = ImageFolder.load(dir, "train");
        assertEquals(5, listed.numClasses(), "classes from the largest label of the list");
        assertEquals(5, ImageFolder.classCount(dir, "train"));
        assertEquals(4, listed.label(1));
        assertEquals(40, listed.image(0).width());
        DataException missing = assertThrows(DataException.class, () -> listed.image(1));
        assertEquals(dir.resolve("train/n09/gone.JPEG") + ": image file is missing", missing.getMessage());
        assertEquals(7, data.size());
        assertEquals(2, data.numClasses());
        try (BatchLoader l = new BatchLoader(data, Datasets.evalTransform(DatasetKind.IMAGENET, data), 4, 2);
             BatchLoader.Epoch e = l.epoch(BatchLoader.identity(7), 0, 0, 0)) {
            int seen = 0;
            while (e.hasNext()) seen += e.next().size();
            assertEquals(7, seen);
            assertEquals(1, l.skippedImages());
            assertTrue(l.firstSkipMessage().contains("broken.JPEG"), l.firstSkipMessage());
        }
    }

    @Test
    void missingImageNetFolderIsNamed(@TempDir Path dir) {
        DataException e = assertThrows(DataException.class, () -> ImageFolder.load(dir, "train"));
        assertTrue(e.getMessage().contains("train folder not found"), e.getMessage());
    }
}
