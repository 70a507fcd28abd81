package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Descriptor strides, row plans and addresses of channel slices: pure functions of shape, strides and offset. */
class TensorLayoutTest {
    private static final CpuBackend CPU = new CpuBackend(1);

    @AfterAll
    static void close() {
        CPU.close();
    }

    @Test
    void channelSliceOfABlockStorageHasTheStoragesBatchStride() {
        int n = 4, cTotal = 40, h = 8, w = 6;
        try (Tensor storage = CPU.allocate(DType.F32, n, cTotal, h, w)) {
            Tensor slice = storage.channels(12, 24);
            TensorLayout.Nd nd = TensorLayout.nd(slice, "test", "x");
            assertArrayEquals(new int[] {n, 12, h, w}, nd.dims());
            assertArrayEquals(new int[] {cTotal * h * w, h * w, w, 1}, nd.strides());
            long base = 0x7f00_0000_0000L;
            assertEquals(base + 12L * h * w * 4, TensorLayout.address(base, slice), "offset pointer = base + offset * 4");
            TensorLayout.Rows rows = TensorLayout.rows(slice, false, "test", "x");
            assertEquals(new TensorLayout.Rows(n, 12L * h * w, (long) cTotal * h * w), rows);
        }
    }

    @Test
    void contiguousTensorsAreOneRowUnlessRowsPerSampleAreAsked() {
        try (Tensor t = CPU.allocate(DType.F32, 3, 5, 2, 2); Tensor v = CPU.allocate(DType.F32, 7, 9)) {
            assertEquals(new TensorLayout.Rows(1, 60, 60), TensorLayout.rows(t, false, "test", "t"));
            assertEquals(new TensorLayout.Rows(3, 20, 20), TensorLayout.rows(t, true, "test", "t"));
            assertEquals(new TensorLayout.Rows(1, 63, 63), TensorLayout.rows(v, true, "test", "v"));
            assertArrayEquals(new int[] {20, 4, 2, 1}, TensorLayout.nd(t, "test", "t").strides());
        }
    }

    @Test
    void layoutsOutsideTheContractAreRefusedByName() {
        try (Tensor t = CPU.allocate(DType.F32, 4, 6, 5)) {
            Tensor strided = t.narrow(2, 1, 3); // rows of 3 elements 5 apart in the last dimension
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorLayout.rows(strided, false, "copy", "src"));
            assertTrue(e.getMessage().startsWith("copy: src [4, 6, 3]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> TensorLayout.nd(t, "conv forward", "x"));
        }
    }

    @Test
    void alignmentIsTheLargestPowerOfTwoUpTo16() {
        assertEquals(16, TensorLayout.alignment(0x1000));
        assertEquals(16, TensorLayout.alignment(0x1010));
        assertEquals(8, TensorLayout.alignment(0x1008));
        assertEquals(4, TensorLayout.alignment(0x1004));
        // channel 1 of a 7x7 map: 49 floats = 196 bytes from an aligned base
        assertEquals(4, TensorLayout.alignment(0x7f00_0000_0000L + 196));
    }
}
