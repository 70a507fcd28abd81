package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class PeaksTest {

    @Test
    void peaksCountTheBytesAndFlopsTheyTimed() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            Peaks.Sizes small = new Peaks.Sizes(1 << 16, new int[] {2, 32, 8, 8}, 16, 1, 3);
            Peaks p = Peaks.measure(cpu, small, 7);
            assertEquals(2L * (1 << 16) * 4, p.copyBytes(), "a copy reads and writes every element once");
            assertEquals(2L * 2 * 8 * 8 * 16 * 32, p.gemmFlops(), "2*M*N*K with M = 2*8*8, N = 16, K = 32");
            assertEquals("128x32 * 32x16", p.gemmShape());
            assertEquals(p.copyBytes() / (p.copyTime().median() * 1e-9), p.bytesPerSecond(), 1e-6 * p.bytesPerSecond());
            assertTrue(Double.isFinite(p.flopsPerSecond()) && p.flopsPerSecond() > 0);
            assertEquals(3, p.gemmTime().count());
            assertEquals(0, cpu.memoryStats().liveBytes(), "the measurement frees what it allocated");
        }
    }
}
