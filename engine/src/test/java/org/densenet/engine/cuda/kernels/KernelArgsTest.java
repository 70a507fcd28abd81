package org.densenet.engine.cuda.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import org.junit.jupiter.api.Test;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The launch buffer KernelLauncher hands to cuLaunchKernel: argument i's value at i * SLOT_BYTES, as C lays it out. */
class KernelArgsTest {

    @Test
    void eachArgumentLandsInItsSlotWithItsCType() {
        float[] struct = {1, 2, 3, 4, 5, 6, 7, 8.5f};
        KernelArgs a = new KernelArgs().ptr(0x7f00_1234_5600L).i32(-7).f32(0.1f).bool(true).f64(-2.5e-300).i64(1L << 40).f32x8(struct);
        assertEquals(List.of(KernelArgs.Type.PTR, KernelArgs.Type.I32, KernelArgs.Type.F32, KernelArgs.Type.I32, KernelArgs.Type.F64,
                KernelArgs.Type.I64, KernelArgs.Type.F32X8), a.types());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate((long) KernelLauncher.MAX_ARGS * KernelArgs.SLOT_BYTES, 16);
            m.fill((byte) 0x5a);
            a.write(m);
            int s = KernelArgs.SLOT_BYTES;
            assertEquals(0x7f00_1234_5600L, m.get(JAVA_LONG, 0));
            assertEquals(-7, m.get(JAVA_INT, s));
            assertEquals(0.1f, m.get(JAVA_FLOAT, 2L * s));
            assertEquals(1, m.get(JAVA_INT, 3L * s));
            assertEquals(-2.5e-300, m.get(JAVA_DOUBLE, 4L * s));
            assertEquals(1L << 40, m.get(JAVA_LONG, 5L * s));
            float[] back = new float[8];
            MemorySegment.copy(m, JAVA_FLOAT, 6L * s, back, 0, 8);
            assertArrayEquals(struct, back);
            // a 32-bit argument leaves the rest of its slot alone (the kernel reads 4 bytes)
            assertEquals(0x5a5a5a5a, m.get(JAVA_INT, s + 4));
        }
        assertEquals(0.1f, (float) a.value(2));
        assertEquals(-2.5e-300, (double) a.value(4));
        assertArrayEquals(struct, (float[]) a.value(6));
    }

    @Test
    void manyArgumentsGrowTheList() {
        KernelArgs a = new KernelArgs();
        for (int i = 0; i < 40; i++) a.i32(i * 3);
        assertEquals(40, a.size());
        for (int i = 0; i < 40; i++) assertEquals(i * 3, (int) a.value(i));
    }

    @Test
    void structsSurviveTheListGrowing() {
        KernelArgs a = new KernelArgs();
        for (int i = 0; i < 40; i++) a.f32x8(new float[] {i, 1, 2, 3, 4, 5, 6, 7});
        for (int i = 0; i < 40; i++) assertEquals(i, ((float[]) a.value(i))[0]);
    }
}
