package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.OpTesting.assertClose;
import static org.densenet.engine.cpu.OpTesting.positive;
import static org.densenet.engine.cpu.OpTesting.random;
import static org.densenet.engine.cpu.OpTesting.size;
import static org.densenet.engine.cpu.OpTesting.slice;
import static org.densenet.engine.cpu.OpTesting.tensor;
import static org.densenet.engine.cpu.OpTesting.values;
import static org.densenet.engine.cpu.OpTesting.whole;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import java.util.function.BiConsumer;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ops writing into a channel slice S[:, a:b] touch only those channels: the rest of S holds a
 * sentinel before and after. Overwriting ops fill NaN-poisoned slices completely with the same
 * values a contiguous output gets; accumulating ops add onto what the slice held.
 */
class CpuChannelSliceTest {
    private static final DType DT = DType.F64;
    private static final double SENTINEL = 12345.5;
    private final CpuBackend b = new CpuBackend(2);
    private final Random rng = new Random(3);
    private final int n = 2, c = 3, h = 6;
    private final Tensor x = input(n, c, h, h), dyPool = input(n, c, 3, 3), w3 = input(4, c, 3, 3), dyConv = input(n, 4, h, h);
    private final Tensor mean = b.allocate(DT, c), var = b.allocate(DT, c), mask = b.allocate(DT, n, c, h, h);
    private final Tensor gamma = tensor(b, DT, positive(rng, c, 0.5, 1.5), c), beta = tensor(b, DT, random(rng, c), c);
    private final Tensor pooled = input(n, c).reshape(n, c);

    @AfterEach
    void close() {
        b.close();
    }

    private Tensor input(int... shape) {
        return tensor(b, DT, random(rng, size(shape)), shape);
    }

    /** Output shape and the op writing into it, with the accumulate flag. */
    private Map.Entry<int[], BiConsumer<Tensor, Boolean>> op(String name) {
        Conv2d conv = new Conv2d(1, 1);
        Pool2d max = new Pool2d(3, 2, 1), avg = new Pool2d(2, 2, 0);
        int[] full = {n, c, h, h}, half = {n, c, 3, 3};
        b.batchNormStatistics(x, mean, var);
        b.dropoutForward(x, b.allocate(DT, full), mask, 0.5, 1);
        return switch (name) {
            case "convForward" -> Map.entry(new int[] {n, 4, h, h}, (y, acc) -> b.convForward(x, w3, y, conv, acc));
            case "convBackwardData" -> Map.entry(full, (dx, acc) -> b.convBackwardData(dyConv, w3, dx, conv, acc));
            case "batchNormApply" -> Map.entry(full, (y, acc) -> b.batchNormApply(x, mean, var, gamma, beta, 1e-5, true, y));
            case "batchNormBackward" -> Map.entry(full, (dx, acc) ->
                    b.batchNormBackward(x, dyConv.channels(0, c), mean, var, gamma, beta, 1e-5, true, dx, acc, b.allocate(DT, c), b.allocate(DT, c)));
            case "relu" -> Map.entry(full, (y, acc) -> b.relu(x, y));
            case "reluBackward" -> Map.entry(full, (dx, acc) -> b.reluBackward(x, dyConv.channels(1, 4), dx, acc));
            case "maxPoolForward" -> Map.entry(half, (y, acc) -> b.maxPoolForward(x, y, max));
            case "maxPoolBackward" -> Map.entry(full, (dx, acc) -> b.maxPoolBackward(x, dyPool, dyPool, dx, max, acc));
            case "avgPoolForward" -> Map.entry(half, (y, acc) -> b.avgPoolForward(x, y, avg));
            case "avgPoolBackward" -> Map.entry(full, (dx, acc) -> b.avgPoolBackward(dyPool, dx, avg, acc));
            case "globalAvgPoolBackward" -> Map.entry(full, (dx, acc) -> b.globalAvgPoolBackward(pooled, dx, acc));
            case "dropoutForward" -> Map.entry(full, (y, acc) -> b.dropoutForward(x, y, b.allocate(DT, full), 0.5, 1));
            case "dropoutBackward" -> Map.entry(full, (dx, acc) -> b.dropoutBackward(x, mask, dx, acc));
            case "copy" -> Map.entry(full, (dst, acc) -> b.copy(x, dst, acc));
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static final String[] OVERWRITING = {"batchNormApply", "relu", "maxPoolForward", "avgPoolForward", "dropoutForward"};

    @ParameterizedTest
    @ValueSource(strings = {"convForward", "convBackwardData", "batchNormApply", "batchNormBackward", "relu", "reluBackward",
            "maxPoolForward", "maxPoolBackward", "avgPoolForward", "avgPoolBackward", "globalAvgPoolBackward", "dropoutForward",
            "dropoutBackward", "copy"})
    void writesOnlyItsChannels(String name) {
        var op = op(name);
        int[] shape = op.getKey();
        Tensor reference = b.allocate(DT, shape);
        op.getValue().accept(reference, false);
        double[] expected = values(b, reference);

        Tensor poisoned = slice(b, DT, 2, 3, SENTINEL, shape);
        b.fill(poisoned, Double.NaN);
        op.getValue().accept(poisoned, false);
        assertArrayEquals(expected, values(b, poisoned), name + " into a poisoned slice");
        assertSentinelOutside(name, poisoned);

        if (java.util.Arrays.asList(OVERWRITING).contains(name)) return;
        Tensor acc = slice(b, DT, 1, 2, SENTINEL, shape);
        double[] prior = random(rng, size(shape));
        b.upload(prior, acc);
        op.getValue().accept(acc, true);
        double[] sum = expected.clone();
        for (int i = 0; i < sum.length; i++) sum[i] += prior[i];
        assertClose(name + " accumulated into a slice", sum, values(b, acc), 1e-14);
        assertSentinelOutside(name + " (accumulate)", acc);
    }

    private void assertSentinelOutside(String what, Tensor slice) {
        double[] all = values(b, whole(slice));
        int perSample = (int) slice.stride(0), plane = slice.dim(2) * slice.dim(3);
        int first = (int) slice.offset(), end = first + slice.dim(1) * plane;
        int outside = 0;
        for (int i = 0; i < all.length; i++) {
            int within = i % perSample;
            if (within >= first && within < end) continue;
            assertEquals(SENTINEL, all[i], what + ": element " + i + " outside the slice changed");
            outside++;
        }
        assertTrue(outside > 0);
    }

    @Test
    void rejectsTensorsOutsideTheChannelSliceLayout() {
        Tensor wide = b.allocate(DT, n, c, h, h);
        Tensor rows = wide.narrow(2, 1, 4);    // rows of a plane: not packed pixels
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.relu(rows, b.allocate(DT, n, c, 4, h)));
        assertTrue(e.getMessage().startsWith("relu: "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.convForward(rows, w3, b.allocate(DT, n, 4, 4, h), new Conv2d(1, 1), false));
        assertTrue(e.getMessage().contains("convForward") && e.getMessage().contains("channel-slice"), e.getMessage());
    }

    @Test
    void rejectsMismatchedShapesAndDtypesNamingTheOp() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.convForward(x, w3, b.allocate(DT, n, 4, h - 1, h), new Conv2d(1, 1), false));
        assertTrue(e.getMessage().contains("convForward") && e.getMessage().contains("[2, 4, 6, 6]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.relu(x, b.allocate(DType.F32, n, c, h, h)));
        assertTrue(e.getMessage().contains("relu") && e.getMessage().contains("F32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> b.batchNormStatistics(x, b.allocate(DT, c + 1), var));
        assertTrue(e.getMessage().contains("batchNormStatistics") && e.getMessage().contains("mean"), e.getMessage());
    }
}
