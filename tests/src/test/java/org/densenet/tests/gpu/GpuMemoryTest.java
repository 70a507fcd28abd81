package org.densenet.tests.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.junit.jupiter.api.Test;

/** What the pre-run memory check reads on a GPU: free device memory plus the allocator's cache. */
class GpuMemoryTest extends GpuParityTestBase {
    private static final long MIB = 1 << 20;

    @Test
    void availableMemoryFallsByWhatIsHeldAndCountsTheCache() {
        gpu.synchronize();
        long before = gpu.availableMemoryBytes();
        long during;
        try (Tensor t = gpu.allocate(DType.F32, 16 << 20)) {   // 64 MiB, a whole size class
            during = gpu.availableMemoryBytes();
        }
        long after = gpu.availableMemoryBytes();
        // the driver hands out memory in pages of up to 2 MiB
        assertEquals(64 * MIB, before - during, 2 * MIB, "held: " + (before - during));
        // a freed block stays in the cache, where the next allocation finds it: still available
        assertEquals(before, after, 2 * MIB, "after free: " + (before - after) + " bytes missing");
        assertTrue(gpu.memoryLimitNote().contains("GPU"), gpu.memoryLimitNote());
    }
}
