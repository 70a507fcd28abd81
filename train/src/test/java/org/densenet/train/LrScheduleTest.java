package org.densenet.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.densenet.train.data.DatasetKind;
import org.junit.jupiter.api.Test;

class LrScheduleTest {
    @Test
    void paperRecipesDivideByTenAtTheirMilestones() {
        Recipe cifar = Recipe.of(DatasetKind.CIFAR10);
        LrSchedule s = LrSchedule.step(cifar.lr(), cifar.epochs(), cifar.milestoneFractions(), 0);
        assertArrayEquals(new int[] {150, 225}, s.milestones());
        assertEquals(0.1, s.lr(149, 781, 782), 1e-15);
        assertEquals(0.01, s.lr(150, 0, 782), 1e-15);
        assertEquals(0.001, s.lr(299, 0, 782), 1e-15);
        Recipe in = Recipe.of(DatasetKind.IMAGENET);
        assertEquals(256, in.batchSize());
        assertArrayEquals(new int[] {30, 60}, LrSchedule.step(in.lr(), in.epochs(), in.milestoneFractions(), 0).milestones());
    }

    @Test
    void cosineFallsFromBaseToZeroPerStepAfterWarmUp() {
        LrSchedule s = LrSchedule.cosine(0.2, 10, 1);
        assertEquals(0.2 / 100, s.lr(0, 0, 100), 1e-15);
        assertEquals(0.2 * 50 / 100, s.lr(0, 49, 100), 1e-15);
        assertEquals(0.2, s.lr(1, 0, 100), 1e-15);
        assertEquals(0.1, s.lr(5, 50, 100), 1e-12);
        assertEquals(0.2 * 0.5 * (1 + Math.cos(Math.PI * 899 / 900)), s.lr(9, 99, 100), 1e-15);
    }

    @Test
    void invalidSettingsSayWhy() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LrSchedule(LrSchedule.Kind.STEP, 0.1, 10, new int[] {5, 3}, 0.1, 0));
        assertEquals("milestones must be increasing epochs >= 1, got [5, 3]", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.cosine(0.1, 5, 5));
    }
}
