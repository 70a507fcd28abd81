package org.densenet.engine.cuda.kernels;

import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;

/**
 * The GPU harness of the kernel parity tests: opened once per test class where a GPU (or the
 * emulated device) is usable, each test skipped with the reason where none is, and fresh random
 * inputs from a seed that differs per run.
 */
@Tag("gpu")
abstract class KernelParityTestBase {
    static GpuHarness gpu;
    private static String unavailable;
    final Random rng;

    KernelParityTestBase(long seed) {
        rng = new Random(seed ^ System.nanoTime());
    }

    // The reason is checked per test, not in @BeforeAll: an aborted @BeforeAll makes Surefire
    // count no tests at all, and a skipped GPU test must show up as skipped, with its reason.
    @BeforeAll
    static void openGpu() {
        unavailable = GpuHarness.unavailableReason();
        if (unavailable == null) gpu = new GpuHarness();
    }

    @BeforeEach
    void requireGpu() {
        Assumptions.assumeTrue(unavailable == null, unavailable);
    }

    @AfterAll
    static void closeGpu() {
        if (gpu != null) gpu.close();
        gpu = null;
    }

    /** Gaussian values of standard deviation {@code scale}. */
    float[] random(int count, double scale) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) a[i] = (float) (rng.nextGaussian() * scale);
        return a;
    }
}
