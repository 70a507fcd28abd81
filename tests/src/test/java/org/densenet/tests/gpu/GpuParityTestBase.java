package org.densenet.tests.gpu;

import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.CudaBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;

/**
 * The GPU and CPU backends a parity test class compares, opened once per class. Where no GPU
 * is usable every test is skipped with the reason, one by one, so the report shows them.
 */
@Tag("gpu")
abstract class GpuParityTestBase {
    static CudaBackend gpu;
    static CpuBackend cpu;

    @BeforeAll
    static void openBackends() {
        gpu = GpuParity.openGpu();
        cpu = GpuParity.openCpu();
    }

    @BeforeEach
    void requireGpu() {
        GpuParity.assumeGpu(gpu);
    }

    @AfterAll
    static void closeBackends() {
        if (gpu != null) gpu.close();
        if (cpu != null) cpu.close();
        gpu = null;
        cpu = null;
    }
}
