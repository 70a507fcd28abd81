package org.densenet.tests.gpu;

import static org.densenet.tests.gpu.GpuParity.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.ImageNormalization;
import org.densenet.engine.LossResult;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.Pool2d;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.tests.gpu.GpuParity.Twin;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Transfers, fills, copies, ReLU, pooling, loss, dropout and SGD on the GPU against the CPU backend,
 * on fresh random inputs, with outputs poisoned and inputs and outputs taken as channel slices of
 * wider storages where the op accepts them. Elementwise results must match to float32 rounding
 * (1e-6); reductions (pooling windows, softmax) to 1e-5.
 */
@Tag("gpu")
class GpuElementwiseParityTest extends GpuParityTestBase {
    private final Random rng = new Random();
    // [N, C, H, W] inside a wider storage: an odd map size leaves slices only 4-byte aligned
    private static final int N = 3, C_TOTAL = 9, C = 5, H = 7, W = 7, FIRST = 2;

    private Twin random(int... shape) {
        return Twin.random(cpu, gpu, rng, shape);
    }

    private Twin poisoned(int... shape) {
        return Twin.poisoned(cpu, gpu, shape);
    }

    @Test
    void uploadAndDownloadOfAChannelSliceTouchOnlyTheSlice() {
        try (Twin storage = poisoned(N, C_TOTAL, H, W)) {
            float[] v = new float[N * C * H * W];
            for (int i = 0; i < v.length; i++) v[i] = rng.nextFloat();
            Twin slice = storage.channels(FIRST, FIRST + C);
            cpu.upload(v, slice.cpu());
            gpu.upload(v, slice.gpu());
            assertClose("upload into a channel slice", storage, 0);
            float[] back = new float[v.length];
            gpu.download(slice.gpu(), back);
            assertClose("download of a channel slice", v, back, 0);
        }
        try (Tensor labels = gpu.allocate(DType.I32, 5)) {
            int[] l = {3, 0, 9, 2, 7};
            gpu.upload(l, labels);
            int[] back = new int[5];
            gpu.download(labels, back);
            assertEquals(java.util.Arrays.toString(l), java.util.Arrays.toString(back));
        }
    }

    /** 8-bit images normalised on the way up: bit for bit the CPU's, which is torchvision's float32 formula. */
    @Test
    void uploadImagesMatchesTheCpuExactly() {
        int n = 5, c = 3, h = 13, w = 11;
        byte[] px = new byte[n * c * h * w];
        rng.nextBytes(px);
        ImageNormalization norm = new ImageNormalization(new float[] {0.4914f, 0.4822f, 0.4465f}, new float[] {0.2470f, 0.2435f, 0.2616f});
        try (Twin images = poisoned(n, c, h, w); Twin smaller = poisoned(n - 2, c, h, w)) {
            cpu.uploadImages(px, images.cpu(), norm);
            gpu.uploadImages(px, images.gpu(), norm);
            assertClose("normalised images", images, 0);
            // a smaller batch after a larger one reads the first bytes only (the staging buffers stay as they are)
            cpu.uploadImages(px, smaller.cpu(), norm);
            gpu.uploadImages(px, smaller.gpu(), norm);
            assertClose("a smaller batch", smaller, 0);
        }
    }

    @Test
    void fillWritesOnlyTheSlice() {
        try (Twin storage = poisoned(N, C_TOTAL, H, W)) {
            Twin slice = storage.channels(FIRST, FIRST + C);
            cpu.fill(slice.cpu(), 0.37);
            gpu.fill(slice.gpu(), 0.37);
            assertClose("fill of a channel slice", storage, 0);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void copyBetweenSlicesAndPackedTensors(boolean accumulate) {
        try (Twin src = random(N, C, H, W); Twin storage = poisoned(N, C_TOTAL, H, W); Twin back = random(N, C, H, W)) {
            Twin dst = storage.channels(FIRST, FIRST + C);
            cpu.fill(dst.cpu(), 0.5);
            gpu.fill(dst.gpu(), 0.5);
            cpu.copy(src.cpu(), dst.cpu(), accumulate);
            gpu.copy(src.gpu(), dst.gpu(), accumulate);
            assertClose("copy into a slice, accumulate " + accumulate, storage, 1e-6);
            cpu.copy(dst.cpu(), back.cpu(), accumulate);
            gpu.copy(dst.gpu(), back.gpu(), accumulate);
            assertClose("copy out of a slice, accumulate " + accumulate, back, 1e-6);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void reluAndItsBackward(boolean accumulate) {
        try (Twin xs = random(N, C_TOTAL, H, W); Twin ys = poisoned(N, C_TOTAL, H, W); Twin dy = random(N, C, H, W);
             Twin dxs = poisoned(N, C_TOTAL, H, W)) {
            Twin x = xs.channels(FIRST, FIRST + C), y = ys.channels(1, 1 + C), dx = dxs.channels(3, 3 + C);
            cpu.relu(x.cpu(), y.cpu());
            gpu.relu(x.gpu(), y.gpu());
            assertClose("relu", ys, 0);
            if (accumulate) {
                cpu.fill(dx.cpu(), 0.25);
                gpu.fill(dx.gpu(), 0.25);
            }
            cpu.reluBackward(y.cpu(), dy.cpu(), dx.cpu(), accumulate);
            gpu.reluBackward(y.gpu(), dy.gpu(), dx.gpu(), accumulate);
            assertClose("relu backward, accumulate " + accumulate, dxs, 1e-6);
            cpu.relu(xs.cpu(), xs.cpu());
            gpu.relu(xs.gpu(), xs.gpu());
            assertClose("relu in place", xs, 0);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"avg 2 2 0", "max 3 2 1", "max 2 2 0"})
    void poolingAndItsBackward(String geometry) {
        String[] g = geometry.split(" ");
        Pool2d pool = new Pool2d(Integer.parseInt(g[1]), Integer.parseInt(g[2]), Integer.parseInt(g[3]));
        boolean max = g[0].equals("max");
        int p = pool.outSize(H), q = pool.outSize(W);
        try (Twin xs = random(N, C_TOTAL, H, W); Twin ys = poisoned(N, C_TOTAL + 2, p, q); Twin dy = random(N, C, p, q);
             Twin dxs = poisoned(N, C_TOTAL, H, W)) {
            Twin x = xs.channels(FIRST, FIRST + C), y = ys.channels(4, 4 + C), dx = dxs.channels(1, 1 + C);
            if (max) {
                cpu.maxPoolForward(x.cpu(), y.cpu(), pool);
                gpu.maxPoolForward(x.gpu(), y.gpu(), pool);
            } else {
                cpu.avgPoolForward(x.cpu(), y.cpu(), pool);
                gpu.avgPoolForward(x.gpu(), y.gpu(), pool);
            }
            assertClose(geometry + " pooling", ys, 1e-6);
            for (boolean accumulate : new boolean[] {false, true}) {
                if (max) {
                    cpu.maxPoolBackward(x.cpu(), y.cpu(), dy.cpu(), dx.cpu(), pool, accumulate);
                    gpu.maxPoolBackward(x.gpu(), y.gpu(), dy.gpu(), dx.gpu(), pool, accumulate);
                } else {
                    cpu.avgPoolBackward(dy.cpu(), dx.cpu(), pool, accumulate);
                    gpu.avgPoolBackward(dy.gpu(), dx.gpu(), pool, accumulate);
                }
                assertClose(geometry + " pooling backward, accumulate " + accumulate, dxs, 1e-5);
            }
        }
    }

    @Test
    void globalAveragePoolingAndItsBackward() {
        try (Twin xs = random(N, C_TOTAL, H, W); Twin y = poisoned(N, C); Twin dy = random(N, C); Twin dxs = poisoned(N, C_TOTAL, H, W)) {
            Twin x = xs.channels(FIRST, FIRST + C), dx = dxs.channels(0, C);
            cpu.globalAvgPoolForward(x.cpu(), y.cpu());
            gpu.globalAvgPoolForward(x.gpu(), y.gpu());
            assertClose("global average pooling", y, 1e-5);
            for (boolean accumulate : new boolean[] {false, true}) {
                cpu.globalAvgPoolBackward(dy.cpu(), dx.cpu(), accumulate);
                gpu.globalAvgPoolBackward(dy.gpu(), dx.gpu(), accumulate);
                assertClose("global average pooling backward, accumulate " + accumulate, dxs, 1e-6);
            }
        }
    }

    @Test
    void softmaxCrossEntropyWithAndWithoutGradient() {
        int n = 37, k = 10;
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = rng.nextInt(k);
        try (Twin logits = random(n, k); Twin l = Twin.ints(cpu, gpu, labels, n); Twin d = poisoned(n, k)) {
            float[] v = new float[n * k];
            for (int i = 0; i < v.length; i++) v[i] = (rng.nextFloat() - 0.5f) * 8;
            cpu.upload(v, logits.cpu());
            gpu.upload(v, logits.gpu());
            LossResult rc = cpu.softmaxCrossEntropy(logits.cpu(), l.cpu(), d.cpu());
            LossResult rg = gpu.softmaxCrossEntropy(logits.gpu(), l.gpu(), d.gpu());
            assertEquals(rc.loss(), rg.loss(), 1e-5 * Math.abs(rc.loss()), "mean loss");
            assertEquals(rc.count(), rg.count());
            assertEquals(rc.top1Correct(), rg.top1Correct(), "top-1");
            assertEquals(rc.top5Correct(), rg.top5Correct(), "top-5");
            assertClose("dlogits", d, 1e-5);
            LossResult noGrad = gpu.softmaxCrossEntropy(logits.gpu(), l.gpu(), null);
            assertEquals(rg.loss(), noGrad.loss(), 1e-7 * Math.abs(rg.loss()));
            labels[5] = k;
            gpu.upload(labels, l.gpu());
            assertThrows(IllegalArgumentException.class, () -> gpu.softmaxCrossEntropy(logits.gpu(), l.gpu(), d.gpu()),
                    "a label outside [0, K) throws");
        }
    }

    /**
     * Losses queued without being read (more than the backend has result slots, so early ones are
     * settled when their slots are reused) each match the CPU's when read at the end, in any
     * order; a bad label is reported by its own result, every time it is read, and by no other.
     */
    @Test
    void queuedLossesAreReadLaterEachMatchingTheCpu() {
        int n = 19, k = 7, batches = 9, bad = 3;
        Tensor[] logits = new Tensor[batches], labels = new Tensor[batches];
        LossResult[] expected = new LossResult[batches];
        PendingLoss[] pending = new PendingLoss[batches];
        try (Twin scratchLogits = random(n, k); Twin scratchLabels = Twin.ints(cpu, gpu, new int[n], n)) {
            for (int b = 0; b < batches; b++) {
                float[] v = new float[n * k];
                for (int i = 0; i < v.length; i++) v[i] = (rng.nextFloat() - 0.5f) * 8;
                int[] y = new int[n];
                for (int i = 0; i < n; i++) y[i] = rng.nextInt(k);
                if (b == bad) y[11] = -1;
                logits[b] = gpu.allocate(DType.F32, n, k);
                labels[b] = gpu.allocate(DType.I32, n);
                gpu.upload(v, logits[b]);
                gpu.upload(y, labels[b]);
                pending[b] = gpu.softmaxCrossEntropyAsync(logits[b], labels[b], null);
                if (b != bad) {
                    cpu.upload(v, scratchLogits.cpu());
                    cpu.upload(y, scratchLabels.cpu());
                    expected[b] = cpu.softmaxCrossEntropy(scratchLogits.cpu(), scratchLabels.cpu(), null);
                }
            }
            for (int b = batches - 1; b >= 0; b--) {
                if (b == bad) {
                    PendingLoss p = pending[b];
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, p::get, "the batch with a label of -1");
                    assertTrue(e.getMessage().contains("row 11"), e.getMessage());
                    assertThrows(IllegalArgumentException.class, p::get, "read again");
                    continue;
                }
                LossResult r = pending[b].get();
                assertEquals(expected[b].loss(), r.loss(), 1e-5 * Math.abs(expected[b].loss()), "loss of batch " + b);
                assertEquals(expected[b].top1Correct(), r.top1Correct(), "top-1 of batch " + b);
                assertEquals(expected[b].top5Correct(), r.top5Correct(), "top-5 of batch " + b);
                assertEquals(r, pending[b].get(), "a result reads the same twice");
            }
        } finally {
            for (Tensor t : logits) if (t != null) t.close();
            for (Tensor t : labels) if (t != null) t.close();
        }
    }

    /**
     * Uploads are queued, not waited for: each one into the same tensor must land after the op
     * queued before it has read the previous contents, and the host array may be overwritten as
     * soon as the call returns. Many rounds with nothing read back in between, on tensors large
     * enough that a GPU is still busy when the host queues the next round.
     */
    @Test
    void queuedUploadsKeepStreamOrderAndFreeTheHostArrayAtOnce() {
        int rounds = 11, count = 1 << 20;
        float[] host = new float[count];
        Tensor[] seen = new Tensor[rounds];
        try (Tensor input = gpu.allocate(DType.F32, count)) {
            for (int r = 0; r < rounds; r++) {
                java.util.Arrays.fill(host, r + 0.25f);
                gpu.upload(host, input);
                java.util.Arrays.fill(host, -1f);  // must not reach the device
                seen[r] = gpu.allocate(DType.F32, count);
                gpu.relu(input, seen[r]);
            }
            float[] back = new float[count];
            for (int r = 0; r < rounds; r++) {
                gpu.download(seen[r], back);
                for (int i = 0; i < count; i += 4099) assertEquals(r + 0.25f, back[i], "round " + r + ", element " + i);
                assertEquals(r + 0.25f, back[count - 1], "round " + r + ", last element");
            }
        } finally {
            for (Tensor t : seen) if (t != null) t.close();
        }
    }

    @Test
    void dropoutDrawsTheSameMaskAsTheCpu() {
        long seed = rng.nextLong();
        try (Twin xs = random(N, C_TOTAL, H, W); Twin y = poisoned(N, C, H, W); Twin mask = poisoned(N, C, H, W);
             Twin dy = random(N, C, H, W); Twin dx = poisoned(N, C, H, W)) {
            Twin x = xs.channels(FIRST, FIRST + C);
            cpu.dropoutForward(x.cpu(), y.cpu(), mask.cpu(), 0.2, seed);
            gpu.dropoutForward(x.gpu(), y.gpu(), mask.gpu(), 0.2, seed);
            assertClose("dropout mask", mask, 0);
            assertClose("dropout output", y, 1e-7);
            for (boolean accumulate : new boolean[] {false, true}) {
                cpu.dropoutBackward(dy.cpu(), mask.cpu(), dx.cpu(), accumulate);
                gpu.dropoutBackward(dy.gpu(), mask.gpu(), dx.gpu(), accumulate);
                assertClose("dropout backward, accumulate " + accumulate, dx, 1e-7);
            }
        }
    }

    /** The seed read from device memory (what a captured step replays) draws the mask the CPU draws from the same seed by value. */
    @Test
    void dropoutWithItsSeedInDeviceMemoryDrawsTheCpusMask() {
        long seed = rng.nextLong() | Long.MIN_VALUE | 0x8000_0000L;
        try (Twin xs = random(N, C_TOTAL, H, W); Twin y = poisoned(N, C, H, W); Twin mask = poisoned(N, C, H, W);
             Tensor seeds = gpu.allocate(DType.I32, 4)) {
            Twin x = xs.channels(FIRST, FIRST + C);
            Tensor word = seeds.narrow(0, 2, 2);
            gpu.upload(Backend.dropoutSeedWords(seed), word);
            cpu.dropoutForward(x.cpu(), y.cpu(), mask.cpu(), 0.2, seed);
            gpu.dropoutForward(x.gpu(), y.gpu(), mask.gpu(), 0.2, word);
            assertClose("dropout mask, seed in device memory", mask, 0);
            assertClose("dropout output, seed in device memory", y, 1e-7);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void sgdStepUpdatesParametersAndMomentum(boolean nesterov) {
        int count = 1001; // not a multiple of 4: the tail of a vectorised kernel runs too
        try (Twin p = random(count); Twin g = random(count); Twin m = random(count)) {
            cpu.fill(m.cpu(), 0);
            gpu.fill(m.gpu(), 0);
            SgdParams sgd = new SgdParams(0.1, 0.9, 1e-4, nesterov);
            for (int step = 0; step < 3; step++) {
                cpu.sgdStep(p.cpu(), g.cpu(), m.cpu(), sgd);
                gpu.sgdStep(p.gpu(), g.gpu(), m.gpu(), sgd);
            }
            assertClose("parameters after 3 steps", p, 1e-6);
            assertClose("momentum after 3 steps", m, 1e-6);
        }
    }

    @Test
    void memoryStatsCountRequestedBytesAndFloat64IsRefused() {
        gpu.synchronize();
        long before = gpu.memoryStats().liveBytes();
        gpu.resetPeakMemory();
        Tensor t = gpu.allocate(DType.F32, 1000);
        assertEquals(before + 4000, gpu.memoryStats().liveBytes());
        t.close();
        assertEquals(before, gpu.memoryStats().liveBytes());
        assertEquals(before + 4000, gpu.memoryStats().peakBytes());
        assertTrue(gpu.reservedBytes() >= gpu.memoryStats().liveBytes());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> gpu.allocate(DType.F64, 4));
        assertTrue(e.getMessage().contains("float32"), e.getMessage());
    }

    @Test
    void eventTimersMeasureQueuedWork() {
        try (Twin a = random(64, 256, 32, 32); Twin b = poisoned(64, 256, 32, 32); org.densenet.engine.OpTimer timer = gpu.newTimer()) {
            timer.start();
            for (int i = 0; i < 10; i++) gpu.relu(a.gpu(), b.gpu());
            timer.stop();
            long ns = timer.elapsedNanos();
            // 10 passes over 2 x 64 MiB take well over a microsecond and well under a second on any GPU;
            // the emulated device runs them on the host's cores, one thread of a block after another
            long most = org.densenet.engine.cuda.EmulatedGpu.requested() ? 600_000_000_000L : 1_000_000_000L;
            assertTrue(ns > 1_000 && ns < most, ns + " ns");
        }
    }
}
