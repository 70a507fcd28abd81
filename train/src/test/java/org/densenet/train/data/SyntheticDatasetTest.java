package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SyntheticDatasetTest {
    private static double mean(Image img) {
        long s = 0;
        for (byte b : img.pixels()) s += b & 0xFF;
        return (double) s / img.pixels().length;
    }

    @Test
    void imagesAreReproducibleAndClassesLookAlikeAcrossSplits() {
        SyntheticDataset train = new SyntheticDataset("a", 400, 10, 3, 16, 1), test = new SyntheticDataset("b", 400, 10, 3, 16, 2);
        assertArrayEquals(train.image(7).pixels(), new SyntheticDataset("a", 400, 10, 3, 16, 1).image(7).pixels());
        double[] sumTrain = new double[10], sumTest = new double[10];
        int[] nTrain = new int[10], nTest = new int[10];
        for (int i = 0; i < 400; i++) {
            sumTrain[train.label(i)] += mean(train.image(i));
            nTrain[train.label(i)]++;
            sumTest[test.label(i)] += mean(test.image(i));
            nTest[test.label(i)]++;
        }
        for (int c = 0; c < 10; c++) {
            assertTrue(nTrain[c] > 0 && nTest[c] > 0, "class " + c + " appears in both splits");
            assertEquals(sumTrain[c] / nTrain[c], sumTest[c] / nTest[c], 2.0, "mean brightness of class " + c);
        }
    }
}
