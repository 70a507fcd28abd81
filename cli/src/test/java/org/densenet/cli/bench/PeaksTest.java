package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

class PeaksTest {

    @Test
    void peaksCountTheBytesAndFlopsTheyTimed() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            Peaks.Sizes small = new Peaks.Sizes(1 << 16, List.of(new Peaks.Gemm(2, 32, 8, 8, 16), new Peaks.Gemm(1, 8, 4, 4, 8)), 1, 3);
            Peaks p = Peaks.measure(cpu, small, 7);
            assertEquals(2L * (1 << 16) * 4, p.copyBytes(), "a copy reads and writes every element once");
            // the reported product is one of the two measured, with 2*M*N*K FLOPs
            assertTrue(p.gemmShape().equals("128x32 * 32x16") && p.gemmFlops() == 2L * 128 * 32 * 16
                    || p.gemmShape().equals("16x8 * 8x8") && p.gemmFlops() == 2L * 16 * 8 * 8, p.gemmShape() + " " + p.gemmFlops());
            // a ceiling is the fastest run
            assertEquals(p.copyBytes() / (p.copyTime().min() * 1e-9), p.bytesPerSecond(), 1e-6 * p.bytesPerSecond());
            assertEquals(p.gemmFlops() / (p.gemmTime().min() * 1e-9), p.flopsPerSecond(), 1e-6 * p.flopsPerSecond());
            assertTrue(Double.isFinite(p.flopsPerSecond()) && p.flopsPerSecond() > 0);
            assertEquals(3, p.gemmTime().count());
            assertEquals(0, cpu.memoryStats().liveBytes(), "the measurement frees what it allocated");
        }
    }
}
