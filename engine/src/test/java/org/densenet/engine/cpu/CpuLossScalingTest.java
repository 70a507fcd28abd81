package org.densenet.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.densenet.engine.DType;
import org.densenet.engine.LossScaling;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Dynamic loss scaling on the CPU: the fused inf/NaN check finds one bad gradient anywhere in the
 * flat buffer, the scale follows GradScaler's rules, and the SGD step skips or unscales exactly.
 */
class CpuLossScalingTest {
    /** Spans several of the backend's 32768-element tasks, so a bad value in any of them must reach the result. */
    private static final int COUNT = 100_003;
    private final CpuBackend cpu = new CpuBackend(3);
    private final Random rng = new Random(System.nanoTime());

    @AfterEach
    void close() {
        cpu.close();
    }

    private Tensor tensor(float[] values) {
        Tensor t = cpu.allocate(DType.F32, values.length);
        cpu.upload(values, t);
        return t;
    }

    private float[] values(Tensor t) {
        float[] v = new float[(int) t.numel()];
        cpu.download(t, v);
        return v;
    }

    private float[] gaussian(int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rng.nextGaussian() * scale);
        return a;
    }

    private float[] check(Tensor scaler, float[] grads, LossScaling rule) {
        try (Tensor g = tensor(grads)) {
            cpu.checkGradientsAndUpdateScale(g, scaler, rule);
        }
        return values(scaler);
    }

    @Test
    void anInfOrNanPlantedAnywhereIsFoundAndBacksTheScaleOff() {
        LossScaling rule = new LossScaling(1024, 2, 0.5, 5);
        int[] where = {0, COUNT / 2, 40_000, COUNT - 1};
        float[] bad = {Float.POSITIVE_INFINITY, Float.NaN, Float.NEGATIVE_INFINITY, Float.NaN};
        for (int k = 0; k < where.length; k++) {
            try (Tensor scaler = tensor(rule.initialState())) {
                float[] g = gaussian(COUNT, 100);
                g[where[k]] = bad[k];
                float[] s = check(scaler, g, rule);
                String at = bad[k] + " at " + where[k];
                assertEquals(1f, s[LossScaling.FOUND], at);
                assertEquals(1f / 1024, s[LossScaling.UNSCALE], at);
                assertEquals(512f, s[LossScaling.SCALE], at);
                assertEquals(0f, s[LossScaling.CLEAN_STEPS], at);
                assertEquals(1f, s[LossScaling.SKIPPED], at);
            }
        }
        try (Tensor scaler = tensor(rule.initialState())) {
            float[] g = gaussian(COUNT, 100);
            g[7] = Float.MAX_VALUE;   // large but finite
            assertArrayEquals(new float[] {1024, 1, 0, 1f / 1024, 0}, check(scaler, g, rule));
        }
    }

    @Test
    void theScaleGrowsAfterTheIntervalOfCleanStepsAndAnOverflowRestartsTheCount() {
        LossScaling rule = new LossScaling(8, 2, 0.5, 3);
        float[] clean = gaussian(1000, 1), overflow = clean.clone();
        overflow[999] = Float.POSITIVE_INFINITY;
        try (Tensor scaler = tensor(rule.initialState())) {
            assertEquals(8f, check(scaler, clean, rule)[LossScaling.SCALE]);
            assertEquals(8f, check(scaler, clean, rule)[LossScaling.SCALE]);
            assertArrayEquals(new float[] {16, 0, 0, 1f / 8, 0}, check(scaler, clean, rule), "grown after the third clean step");
            check(scaler, clean, rule);
            check(scaler, clean, rule);
            assertArrayEquals(new float[] {8, 0, 1, 1f / 16, 1}, check(scaler, overflow, rule), "two clean steps, then an overflow");
            check(scaler, clean, rule);
            check(scaler, clean, rule);
            assertArrayEquals(new float[] {16, 0, 0, 1f / 8, 1}, check(scaler, clean, rule), "three clean steps counted from the overflow");
        }
        LossScaling top = new LossScaling(0x1p127, 2, 0.5, 1);
        try (Tensor scaler = tensor(top.initialState())) {
            assertArrayEquals(new float[] {0x1p127f, 0, 0, 0x1p-127f, 0}, check(scaler, clean, top), "a growth to infinity is not kept");
        }
    }

    @Test
    void aCleanStepIsThePlainStepOnUnscaledGradientsAndAnOverflowedOneChangesNothing() {
        SgdParams sgd = new SgdParams(0.1, 0.9, 1e-4, true);
        LossScaling rule = new LossScaling(4096, 2, 0.5, 2000);
        float[] p = gaussian(COUNT, 1), m = gaussian(COUNT, 0.1), g = gaussian(COUNT, 0.01), scaled = new float[COUNT];
        for (int i = 0; i < COUNT; i++) scaled[i] = g[i] * 4096;   // a power of two: exact
        try (Tensor tp = tensor(p); Tensor tm = tensor(m); Tensor tg = tensor(scaled); Tensor ep = tensor(p); Tensor em = tensor(m);
             Tensor eg = tensor(g); Tensor lr = tensor(new float[] {0.1f}); Tensor scaler = tensor(rule.initialState())) {
            cpu.checkGradientsAndUpdateScale(tg, scaler, rule);
            cpu.sgdStep(tp, tg, tm, sgd, lr, scaler);
            cpu.sgdStep(ep, eg, em, sgd);
            assertArrayEquals(values(ep), values(tp), "parameters");
            assertArrayEquals(values(em), values(tm), "momentum");
            assertArrayEquals(scaled, values(tg), "the gradient buffer keeps its scaled values");

            float[] before = values(tp), momentum = values(tm);
            scaled[rng.nextInt(COUNT)] = Float.NaN;
            cpu.upload(scaled, tg);
            cpu.checkGradientsAndUpdateScale(tg, scaler, rule);
            cpu.sgdStep(tp, tg, tm, sgd, lr, scaler);
            assertArrayEquals(before, values(tp), "a skipped step leaves the parameters");
            assertArrayEquals(momentum, values(tm), "and the momentum");
            assertEquals(2048f, values(scaler)[LossScaling.SCALE]);
        }
    }

    @Test
    void theLossGradientIsMultipliedByTheScale() {
        float[] d = gaussian(5 * 7, 0.2), expected = d.clone();
        for (int i = 0; i < expected.length; i++) expected[i] *= 65536;
        try (Tensor dl = cpu.allocate(DType.F32, 5, 7); Tensor scaler = tensor(LossScaling.DEFAULT.initialState())) {
            cpu.upload(d, dl);
            cpu.scaleLossGradient(dl, scaler);
            assertArrayEquals(expected, values(dl));
            assertThrows(IllegalArgumentException.class, () -> cpu.scaleLossGradient(dl, dl), "a scaler state must be a float32 [5]");
        }
    }
}
