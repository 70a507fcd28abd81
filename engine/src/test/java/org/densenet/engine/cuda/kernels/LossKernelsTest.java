package org.densenet.engine.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.densenet.engine.LossResult;
import org.junit.jupiter.api.Test;

class LossKernelsTest {

    @Test
    void decodeReadsTheResultBufferLayout() {
        assertEquals(new LossResult(2.25, 64, 10, 31), LossKernels.decode(new double[] {2.25, 10, 31, 0}, 64));
    }

    @Test
    void decodeThrowsNamingTheFirstBadRow() {
        var e = assertThrows(IllegalArgumentException.class, () -> LossKernels.decode(new double[] {1, 0, 0, 18}, 64));
        assertTrue(e.getMessage().contains("row 17"), e.getMessage());
    }

    @Test
    void scalarsAreRoundedOnceFromDouble() {
        assertEquals((float) (1.0 / 0.8), ElementwiseKernels.dropoutScale(0.2));
        assertEquals(1f, ElementwiseKernels.dropoutScale(0));
        assertEquals(256.0 / 255.0, BnStatsKernels.unbias(256));
        assertEquals(1.0, BnStatsKernels.unbias(1));
    }

    @Test
    void sgdUsesFloat4OnlyWhenEveryTouchedBufferIsAligned() {
        assertTrue(SgdKernels.vectorizable(0x1000, 0x2000, 0x3000, true));
        assertTrue(!SgdKernels.vectorizable(0x1000, 0x2004, 0x3000, true));
        assertTrue(!SgdKernels.vectorizable(0x1000, 0x2000, 0x3008, true));
        assertTrue(SgdKernels.vectorizable(0x1000, 0x2000, 0x3008, false));
        assertEquals(LaunchGeometry.linear(250), SgdKernels.geometry(1003, true));
        assertEquals(LaunchGeometry.linear(1), SgdKernels.geometry(3, true));
    }
}
