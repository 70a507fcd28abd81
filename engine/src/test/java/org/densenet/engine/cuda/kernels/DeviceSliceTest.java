package org.densenet.engine.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Storage;
import org.densenet.engine.Tensor;
import org.junit.jupiter.api.Test;

class DeviceSliceTest {
    private static final long BASE = 0x10_0000_0000L;

    /** Just enough of a storage to build tensors and views on. */
    record FakeStorage(DType dtype, long elements) implements Storage {
        @Override
        public Backend backend() {
            return null;
        }

        @Override
        public boolean isClosed() {
            return false;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void aChannelSliceOfABlockStorageKeepsTheStorageBatchStride() {
        Tensor block = Tensor.owning(new FakeStorage(DType.F32, 8L * 100 * 32 * 32), 8, 100, 32, 32);
        DeviceSlice s = DeviceSlice.of(block.channels(24, 36), BASE);
        assertEquals(new DeviceSlice(BASE + 4L * 24 * 1024, 8, 12, 32, 32, 100L * 1024), s);
        assertEquals(12L * 1024, s.sampleLength());
        assertEquals(8L * 12 * 1024, s.numel());
    }

    @Test
    void aContiguousMatrixIsOneFlatRow() {
        Tensor m = Tensor.owning(new FakeStorage(DType.F32, 640), 64, 10);
        assertEquals(DeviceSlice.flat(BASE, 640), DeviceSlice.of(m, BASE));
    }

    @Test
    void otherLayoutsAndDtypesAreRejected() {
        Tensor m = Tensor.owning(new FakeStorage(DType.F32, 640), 64, 10);
        Tensor columns = m.narrow(1, 2, 3);                           // strided rows: neither layout
        assertThrows(IllegalArgumentException.class, () -> DeviceSlice.of(columns, BASE));
        Tensor d = Tensor.owning(new FakeStorage(DType.F64, 10), 10);
        assertThrows(IllegalArgumentException.class, () -> DeviceSlice.of(d, BASE));
    }

    @Test
    void badSlicesFailInTheConstructor() {
        assertThrows(IllegalArgumentException.class, () -> new DeviceSlice(0, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new DeviceSlice(BASE + 2, 1, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new DeviceSlice(BASE, 2, 3, 4, 4, 47));      // samples overlap
        assertThrows(IllegalArgumentException.class, () -> new DeviceSlice(BASE, 0, 3, 4, 4, 48));
        assertThrows(ArithmeticException.class, () -> new DeviceSlice(BASE, Integer.MAX_VALUE, 1, 1, 1, Long.MAX_VALUE / 2));
    }

    @Test
    void sixtyFourBitSizesAreCarriedExactly() {
        DeviceSlice big = new DeviceSlice(BASE, 1024, 2048, 224, 224, 2048L * 224 * 224);
        assertEquals(1024L * 2048 * 224 * 224, big.numel());
        assertEquals(2048L * 224 * 224, big.sampleLength());
        LaunchGeometry g = ElementwiseKernels.geometry(big);
        assertEquals(1024, (long) g.gridY() * g.blockY());
        assertEquals(LaunchGeometry.GRID_CAP, g.gridX());
    }
}
