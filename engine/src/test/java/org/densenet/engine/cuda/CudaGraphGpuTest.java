package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.densenet.engine.CapturedGraph;
import org.densenet.engine.DType;
import org.densenet.engine.GraphCaptureException;
import org.densenet.engine.LossResult;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Stream capture and graph replay on the CUDA backend: captured ops run only when replayed, read
 * their inputs as they are at replay, and a capture that meets something it cannot hold throws
 * the reason with nothing run and the backend usable. On a GPU, or on the emulated device.
 */
@Tag("gpu")
class CudaGraphGpuTest {
    private static CudaBackend gpu;
    private static String unavailable;

    @BeforeAll
    static void open() {
        if (EmulatedGpu.requested()) {
            gpu = EmulatedGpu.open();
            return;
        }
        try {
            gpu = CudaBackend.open(0, false, true);
        } catch (CudaUnavailableException e) {
            unavailable = e.getMessage();
        }
    }

    @AfterAll
    static void close() {
        if (gpu != null) gpu.close();
        gpu = null;
    }

    private static void requireGpu() {
        Assumptions.assumeTrue(gpu != null, () -> "no usable GPU: " + unavailable);
    }

    @Test
    void capturedOpsRunOnlyOnReplayAndReadTheirInputsAsTheyAreThen() {
        requireGpu();
        try (Tensor x = gpu.allocate(DType.F32, 2, 3, 4, 4); Tensor y = gpu.allocate(DType.F32, 2, 3, 4, 4)) {
            gpu.fill(x, 1.5);
            gpu.fill(y, 0.25);
            try (CapturedGraph g = gpu.capture(() -> {
                gpu.copy(x, y, true);   // a kernel: y += x
                gpu.relu(y, y);
            })) {
                assertArrayEquals(filled(96, 0.25f), values(y), "nothing ran during the capture");
                gpu.fill(x, -2);
                assertNull(g.replay(), "no loss was captured");
                assertArrayEquals(filled(96, 0f), values(y), "replay 1 reads x as written after the capture: relu(0.25 - 2)");
                gpu.fill(x, 3);
                g.replay();
                g.replay();
                assertArrayEquals(filled(96, 6f), values(y), "two more replays: 0 + 3 + 3");
                assertTrue(g.valid());
            }
        }
    }

    @Test
    void aCapturedLossIsReadBackAfterEachReplay() {
        requireGpu();
        int n = 4, k = 5;
        float[] logits = new float[n * k];
        for (int i = 0; i < logits.length; i++) logits[i] = (i * 7 % 11) / 3f;
        try (Tensor l = gpu.allocate(DType.F32, n, k); Tensor labels = gpu.allocate(DType.I32, n); Tensor d = gpu.allocate(DType.F32, n, k)) {
            gpu.upload(logits, l);
            int[][] batches = {{0, 1, 2, 3}, {4, 4, 0, 1}};
            gpu.upload(batches[0], labels);
            PendingLoss[] during = new PendingLoss[1];
            try (CapturedGraph g = gpu.capture(() -> during[0] = gpu.softmaxCrossEntropyAsync(l, labels, d))) {
                assertThrows(IllegalStateException.class, during[0]::get, "the captured op's own result has no value");
                for (int[] y : batches) {
                    gpu.upload(y, labels);
                    LossResult replayed = g.replay().get();
                    LossResult direct = gpu.softmaxCrossEntropy(l, labels, d);
                    assertEquals(direct, replayed, "labels " + java.util.Arrays.toString(y));
                }
            }
        }
    }

    @Test
    void aCaptureThatMeetsAnUploadThrowsWhyRunsNothingAndLeavesTheBackendUsable() {
        requireGpu();
        try (Tensor t = gpu.allocate(DType.F32, 8)) {
            gpu.fill(t, 1);
            GraphCaptureException e = assertThrows(GraphCaptureException.class, () -> gpu.capture(() -> {
                gpu.fill(t, 2);
                gpu.upload(new float[8], t);
            }));
            assertTrue(e.getMessage().startsWith("an upload from the host (upload) cannot be part of a captured graph"), e.getMessage());
            assertArrayEquals(filled(8, 1f), values(t), "the fill before the upload was captured, then dropped");
            gpu.fill(t, 4);
            assertArrayEquals(filled(8, 4f), values(t));
        }
    }

    @Test
    void aCaptureRefusesAllocationSynchronisationAndARateByValue() {
        requireGpu();
        GraphCaptureException alloc = assertThrows(GraphCaptureException.class, () -> gpu.capture(() -> gpu.allocate(DType.F32, 16).close()));
        assertTrue(alloc.getMessage().startsWith("allocating 0.1 KiB for F32 tensor [16] cannot be part of a captured graph"), alloc.getMessage());
        assertTrue(alloc.getMessage().contains("cannot be part of a captured graph"), alloc.getMessage());
        GraphCaptureException sync = assertThrows(GraphCaptureException.class, () -> gpu.capture(gpu::synchronize));
        assertTrue(sync.getMessage().startsWith("waiting for the GPU (synchronize)"), sync.getMessage());
        try (Tensor p = gpu.allocate(DType.F32, 8); Tensor g = gpu.allocate(DType.F32, 8)) {
            GraphCaptureException sgd = assertThrows(GraphCaptureException.class,
                    () -> gpu.capture(() -> gpu.sgdStep(p, g, null, new org.densenet.engine.SgdParams(0.1, 0, 0, false))));
            assertTrue(sgd.getMessage().contains("learning rate given by value"), sgd.getMessage());
        }
        try (Tensor t = gpu.allocate(DType.F32, 4)) {
            gpu.fill(t, 7);
            assertArrayEquals(filled(4, 7f), values(t), "the backend works after refused captures");
        }
    }

    @Test
    void aGraphWhoseMemoryWasGivenBackIsStaleAndRefusesToReplay() {
        requireGpu();
        Tensor t = gpu.allocate(DType.F32, 32);
        try (CapturedGraph g = gpu.capture(() -> gpu.fill(t, 1))) {
            assertTrue(g.valid());
            g.replay();
            t.close();
            assertFalse(g.valid(), "t's memory was given back");
            assertThrows(IllegalStateException.class, g::replay);
        }
    }

    @Test
    void kernelLaunchesCountsTheBackendsOwnKernelsButNotCopiesFillsOrReplays() {
        requireGpu();
        try (Tensor x = gpu.allocate(DType.F32, 2, 3, 4, 4); Tensor y = gpu.allocate(DType.F32, 2, 3, 4, 4)) {
            long before = gpu.kernelLaunches();
            gpu.fill(x, 1.5);                // a memset
            gpu.copy(x, y, false);           // a 2-D copy
            assertEquals(before, gpu.kernelLaunches());
            gpu.copy(x, y, true);            // the copy kernel
            gpu.relu(y, y);
            assertEquals(before + 2, gpu.kernelLaunches());
            try (CapturedGraph g = gpu.capture(() -> gpu.relu(x, y))) {
                long captured = gpu.kernelLaunches();
                g.replay();
                assertEquals(captured, gpu.kernelLaunches(), "a replay is one graph launch, no kernel launch of ours");
            }
        }
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static float[] values(Tensor t) {
        float[] v = new float[Math.toIntExact(t.numel())];
        gpu.download(t, v);
        return v;
    }
}
