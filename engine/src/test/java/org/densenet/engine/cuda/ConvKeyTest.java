package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.ffm.Cudnn.ConvOp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The algorithm-cache key: what it tells apart, what it treats as one problem, and the shape checks that build it. */
class ConvKeyTest {
    private static final CpuBackend CPU = new CpuBackend(1);
    private static final long BASE = 0x7f00_0000_0000L;

    @AfterAll
    static void close() {
        CPU.close();
    }

    @Test
    void aLayerCalledTwiceHasOneKeyAndItsBlockSliceAnother() {
        Conv2d conv = new Conv2d(1, 1);
        try (Tensor block = CPU.allocate(DType.F32, 2, 32, 8, 8); Tensor packed = CPU.allocate(DType.F32, 2, 16, 8, 8);
             Tensor w = CPU.allocate(DType.F32, 4, 16, 3, 3); Tensor y = CPU.allocate(DType.F32, 2, 4, 8, 8)) {
            Tensor slice = block.channels(0, 16);
            ConvKey a = ConvKey.of(ConvOp.FORWARD, slice, w, y, conv, BASE, BASE, BASE + 4096);
            ConvKey b = ConvKey.of(ConvOp.FORWARD, slice, w, y, conv, BASE + 8192, BASE + 256, BASE);
            assertEquals(a, b, "same shapes, strides and alignment: one cached algorithm");
            assertEquals(32L * 64, a.inBatchStride());
            ConvKey p = ConvKey.of(ConvOp.FORWARD, packed, w, y, conv, BASE, BASE, BASE);
            assertNotEquals(a, p, "a packed input is another problem than a block slice");
            ConvKey odd = ConvKey.of(ConvOp.FORWARD, slice, w, y, conv, BASE + 4, BASE, BASE);
            assertNotEquals(a, odd, "a 4-byte aligned input may not run every algorithm");
            assertNotEquals(a, ConvKey.of(ConvOp.FORWARD, slice, w, y, conv, BASE, BASE + 36, BASE), "nor a 4-byte aligned filter");
            assertNotEquals(a, ConvKey.of(ConvOp.BACKWARD_FILTER, slice, w, y, conv, BASE, BASE, BASE));
            assertEquals("conv forward x[2, 16, 8, 8] (batch stride 2048) w[4, 16, 3, 3] y[2, 4, 8, 8] stride 1 pad 1", a.toString());
        }
    }

    @Test
    void shapeMismatchesNameTheOpAndEveryShape() {
        try (Tensor x = CPU.allocate(DType.F32, 2, 16, 8, 8); Tensor w = CPU.allocate(DType.F32, 4, 16, 3, 3);
             Tensor wrong = CPU.allocate(DType.F32, 2, 4, 4, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ConvKey.of(ConvOp.BACKWARD_DATA, x, w, wrong, new Conv2d(1, 1), BASE, BASE, BASE));
            assertEquals("conv backward data: shapes do not fit: dx [2, 16, 8, 8], filter [4, 16, 3, 3], dy [2, 4, 4, 4] with stride 1,"
                    + " pad 1 (expected dy [2, 4, 8, 8])", e.getMessage());
            Tensor strided = w.reshape(4, 16, 9).narrow(2, 0, 4);
            assertThrows(IllegalArgumentException.class, () -> ConvKey.of(ConvOp.FORWARD, x, strided, wrong, new Conv2d(1, 1), BASE, BASE, BASE));
            try (Tensor big = CPU.allocate(DType.F32, 1, 4, 7, 7)) {
                IllegalArgumentException tooSmall = assertThrows(IllegalArgumentException.class,
                        () -> ConvKey.of(ConvOp.FORWARD, wrong, big, wrong, new Conv2d(1, 0), BASE, BASE, BASE));
                assertTrue(tooSmall.getMessage().startsWith("conv forward: convolution of size 4 with kernel 7"), tooSmall.getMessage());
            }
        }
    }
}
