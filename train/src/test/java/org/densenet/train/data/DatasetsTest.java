package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path dir;

    private Path touch(String relative) throws IOException {
        Path p = dir.resolve(relative);
        Files.createDirectories(p.getParent());
        return Files.write(p, new byte[1]);
    }

    @Test
    void detectsEachDatasetFromItsFileNames() throws IOException {
        touch("c10/cifar-10-batches-bin/data_batch_1.bin");
        touch("c100/train.bin");
        touch("fm/train-images-idx3-ubyte.gz");
        Files.createDirectories(dir.resolve("in/train/n01"));
        Path archive = touch("a/cifar-100-binary.tar.gz");
        assertEquals(DatasetKind.CIFAR10, Datasets.detect(dir.resolve("c10")));
        assertEquals(DatasetKind.CIFAR100, Datasets.detect(dir.resolve("c100")));
        assertEquals(DatasetKind.FASHION_MNIST, Datasets.detect(dir.resolve("fm")));
        assertEquals(DatasetKind.IMAGENET, Datasets.detect(dir.resolve("in")));
        assertEquals(DatasetKind.CIFAR100, Datasets.detect(archive));
        assertEquals(DatasetKind.CIFAR100, Datasets.detect(dir.resolve("a")));
        DataException e = assertThrows(DataException.class, () -> Datasets.detect(Files.createDirectories(dir.resolve("empty"))));
        assertTrue(e.getMessage().contains("name it with --dataset"), e.getMessage());
    }
}
