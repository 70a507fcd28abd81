package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.densenet.engine.DType;
import org.junit.jupiter.api.Test;

/** The check a run makes before allocating: what it needs, what would fit, and the largest batch that would. */
class MemoryFitTest {
    private static final DenseNetConfig BC100 = DenseNetConfig.preset("densenet-bc-100-12");
    private static final long PER_IMAGE = 8 * (3 * 32 * 32 + 11);

    private static long need(MemoryMode mode, int batch) {
        return MemoryPlanner.plan(BC100, mode, DType.F32, batch, 32, 32, true).totalBytes() + batch * PER_IMAGE;
    }

    private static String failure(MemoryMode mode, int batch, long available) {
        return assertThrows(MemoryPlanner.NotEnoughMemoryException.class, () -> MemoryPlanner.requireFits("densenet-bc-100-12", BC100, mode, DType.F32,
                batch, 32, 32, true, PER_IMAGE, available, "a test limit")).getMessage();
    }

    @Test
    void aStepThatFitsPassesToTheByte() {
        long exact = need(MemoryMode.SHARED, 64);
        assertDoesNotThrow(() -> MemoryPlanner.requireFits("m", BC100, MemoryMode.SHARED, DType.F32, 64, 32, 32, true, PER_IMAGE, exact, "x"));
        failure(MemoryMode.SHARED, 64, exact - 1);
    }

    @Test
    void theMessageNamesTheNeedTheLimitTheModesThatFitAndTheLargestBatch() {
        // between recompute's and shared's need at batch 64: only recompute fits
        long available = (need(MemoryMode.RECOMPUTE, 64) + need(MemoryMode.SHARED, 64)) / 2;
        String m = failure(MemoryMode.NAIVE, 64, available);
        assertTrue(m.startsWith(String.format("densenet-bc-100-12 needs about %.2f GiB to train at batch 64 on 32x32 images in naive memory mode",
                need(MemoryMode.NAIVE, 64) / (double) (1L << 30))), m);
        assertTrue(m.contains("(a test limit)"), m);
        assertTrue(m.contains(String.format("It fits with --memory recompute (%.0f MiB).", need(MemoryMode.RECOMPUTE, 64) / (double) (1 << 20))), m);
        assertTrue(!m.contains("--memory shared"), "shared does not fit: " + m);
        int largest = largestBatchIn(m);
        assertTrue(need(MemoryMode.NAIVE, largest) <= available && need(MemoryMode.NAIVE, largest + 1) > available,
                "batch " + largest + " must be the last that fits: " + m);
    }

    @Test
    void whenNoModeFitsTheLeanestModesLargestBatchIsNamed() {
        long available = need(MemoryMode.RECOMPUTE, 40);
        String m = failure(MemoryMode.NAIVE, 64, available);
        assertTrue(!m.contains("It fits with"), m);
        Matcher lean = Pattern.compile("With --memory recompute it is (\\d+)\\.").matcher(m);
        assertTrue(lean.find(), m);
        assertEquals(40, Integer.parseInt(lean.group(1)), m);
        assertTrue(largestBatchIn(m) < 40, m);
        String none = failure(MemoryMode.RECOMPUTE, 64, need(MemoryMode.RECOMPUTE, 1) - 1);
        assertTrue(none.endsWith("Not even one image fits in recompute mode."), none);
    }

    private static int largestBatchIn(String message) {
        Matcher b = Pattern.compile("the largest batch that fits is (\\d+) \\(-b \\1\\)").matcher(message);
        assertTrue(b.find(), message);
        return Integer.parseInt(b.group(1));
    }
}
