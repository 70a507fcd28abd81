package org.densenet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.densenet.train.data.DatasetKind;
import org.junit.jupiter.api.Test;

class DeviceOptionsTest {

    @Test
    void imageNetLoadsWithEveryCoreButOneAndTheSmallDatasetsWithAtMostEight() {
        assertEquals(15, DeviceOptions.defaultWorkers(DatasetKind.IMAGENET, 16));
        assertEquals(1, DeviceOptions.defaultWorkers(DatasetKind.IMAGENET, 1));
        assertEquals(1, DeviceOptions.defaultWorkers(DatasetKind.IMAGENET, 2));
        assertEquals(32, DeviceOptions.defaultWorkers(DatasetKind.IMAGENET, 96));
        assertEquals(8, DeviceOptions.defaultWorkers(DatasetKind.CIFAR10, 16));
        assertEquals(2, DeviceOptions.defaultWorkers(DatasetKind.CIFAR10, 2));
        assertEquals(8, DeviceOptions.defaultWorkers(DatasetKind.FASHION_MNIST, 64));
    }

    @Test
    void anExplicitWorkerCountWinsAndMustBePositive() {
        DeviceOptions o = new DeviceOptions();
        o.workers = 3;
        assertEquals(3, o.workerCount(DatasetKind.IMAGENET));
        o.workers = 0;
        assertThrows(Main.UsageError.class, () -> o.workerCount(DatasetKind.CIFAR10));
    }
}
