package org.densenet.tests.gpu;

import static org.densenet.tests.gpu.GpuParity.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Float16;
import org.densenet.engine.ImageNormalization;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Precision;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.CudaBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The CUDA backend opened in BF16 and FP16 against the CPU twin in the same precision ({@code new
 * CpuBackend(threads, precision)}), op by op, on fresh random inputs: activations are 16-bit tensors
 * on the GPU (channel slices of wider storages, outputs poisoned with NaN) and float32 tensors holding
 * the same values in the twin; weights are float32 views at odd offsets of one flat buffer on both.
 * Transfers, fills, copies, pooling and the elementwise parts of batch norm round exactly where the
 * twin rounds, so they must agree exactly; a convolution or a reduction sums in another order, and a
 * float32 result a hair from a 16-bit rounding boundary may round the other way, so those compare
 * within one unit in the 16-bit format's last place, relative ({@link #ulp}), with the usual floor
 * of a tenth of the tensor's scale for values that cancel.
 */
@Tag("gpu")
class GpuSixteenBitOpsParityTest {
    private CudaBackend gpu;
    private CpuBackend twin;
    private Precision precision;
    private DType type;
    private final Random rng = new Random();

    private void open(Precision p) {
        precision = p;
        type = DType.activations(p);
        gpu = GpuParity.openGpu(p);
        GpuParity.assumeGpu(gpu);
        twin = new CpuBackend(2, p);
        assertEquals(type, gpu.activationDType());
    }

    @AfterEach
    void close() {
        if (gpu != null) gpu.close();
        if (twin != null) twin.close();
    }

    /** The spacing of 16-bit values relative to their magnitude, at its widest: 2^-7 for BF16, 2^-10 for FP16. */
    private double ulp() {
        return precision == Precision.BF16 ? 0x1p-7 : 0x1p-10;
    }

    private float[] random(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((rng.nextFloat() * 2 - 1) * scale);
        return v;
    }

    private float[] rounded(float[] v) {
        float[] r = v.clone();
        Float16.round(r, 0, r.length, precision);
        return r;
    }

    /** An activation: 16 bits on the GPU, float32 in the twin, the same (16-bit) values on both. */
    private GpuParity.Twin activation(float[] values, int... shape) {
        Tensor c = twin.allocate(DType.F32, shape), g = gpu.allocate(type, shape);
        float[] v = rounded(values);
        twin.upload(v, c);
        gpu.upload(v, g);
        return new GpuParity.Twin(c, g);
    }

    private GpuParity.Twin poisonedActivation(int... shape) {
        Tensor c = twin.allocate(DType.F32, shape), g = gpu.allocate(type, shape);
        twin.fill(c, Double.NaN);
        gpu.fill(g, Double.NaN);
        return new GpuParity.Twin(c, g);
    }

    /** Float32 on both (weights, statistics, parameters and their gradients). */
    private GpuParity.Twin float32(float[] values, int... shape) {
        return GpuParity.Twin.of(twin, gpu, values, shape);
    }

    /** Dropout with its seed in device memory (what a captured step replays) on 16-bit slices: the twin's mask and values exactly. */
    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void dropoutWithItsSeedInDeviceMemoryDrawsTheTwinsMask(Precision p) {
        open(p);
        long seed = rng.nextLong() | 0x8000_0000L;
        try (GpuParity.Twin xs = activation(random(2 * 7 * 25, 2), 2, 7, 5, 5); GpuParity.Twin y = poisonedActivation(2, 4, 5, 5);
             GpuParity.Twin mask = GpuParity.Twin.poisoned(twin, gpu, 2, 4, 5, 5); Tensor seeds = gpu.allocate(DType.I32, 2)) {
            GpuParity.Twin x = xs.channels(2, 6);
            gpu.upload(org.densenet.engine.Backend.dropoutSeedWords(seed), seeds);
            twin.dropoutForward(x.cpu(), y.cpu(), mask.cpu(), 0.25, seed);
            gpu.dropoutForward(x.gpu(), y.gpu(), mask.gpu(), 0.25, seeds);
            assertClose("dropout mask " + p, mask, 0);
            assertClose("dropout output " + p, y, 0);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void transfersFillsAndCopiesRoundOnceAndWidenExactly(Precision p) {
        open(p);
        int n = 3, cTotal = 9, c = 5, h = 7, w = 7, len = n * c * h * w;
        float[] v = random(len, 3), v2 = random(len, 3), b = random(len, 1);
        try (Tensor storage = gpu.allocate(type, n, cTotal, h, w); Tensor wide = gpu.allocate(DType.F32, n, c, h, w);
             Tensor back = gpu.allocate(DType.F32, n, c, h, w)) {
            gpu.fill(storage, Double.NaN);
            Tensor slice = storage.channels(2, 2 + c);
            gpu.upload(v, slice);
            assertArrayEquals(rounded(v), download(slice), p + ": an upload into a 16-bit channel slice rounds each value once, a download widens it");
            float[] all = download(storage);
            int inside = 0;
            for (float f : all) inside += Float.isNaN(f) ? 0 : 1;
            assertEquals(len, inside, p + ": the channels outside the slice are untouched");
            gpu.upload(v2, wide);
            gpu.copy(wide, slice, false);
            assertArrayEquals(rounded(v2), download(slice), p + ": float32 copied into 16 bits, rounded once");
            gpu.fill(slice, 0.1);
            float[] tenth = new float[len];
            java.util.Arrays.fill(tenth, precision.round(0.1f));
            assertArrayEquals(tenth, download(slice), p + ": a 16-bit fill holds (float) 0.1 rounded once");
            gpu.upload(v, slice);
            gpu.upload(b, back);
            gpu.copy(slice, back, true);
            float[] sum = b.clone(), r = rounded(v);
            for (int i = 0; i < len; i++) sum[i] += r[i];
            assertArrayEquals(sum, download(back), p + ": 16 bits added into float32, widened exactly");
        }
    }

    private float[] download(Tensor t) {
        float[] v = new float[Math.toIntExact(t.numel())];
        gpu.download(t, v);
        return v;
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void convolutionsReadTheRoundedWeightsWhoseCopyEveryWriteKeepsCurrent(Precision p) {
        open(p);
        int n = 3, c = 6, cTotal = 10, hw = 8, k = 4, r = 3;
        Conv2d conv = new Conv2d(1, 1);
        int size = k * c * r * r;
        long offset = 3;   // 12 bytes into the flat float32 buffer; its 16-bit copy at 6
        try (GpuParity.Twin xs = activation(random(n * cTotal * hw * hw, 2), n, cTotal, hw, hw);
             GpuParity.Twin flat = float32(random(size + 7, 0.3f), size + 7); GpuParity.Twin ys = poisonedActivation(n, k + 2, hw, hw);
             GpuParity.Twin dy = activation(random(n * k * hw * hw, 1), n, k, hw, hw); GpuParity.Twin dxs = poisonedActivation(n, cTotal, hw, hw);
             GpuParity.Twin dflat = GpuParity.Twin.poisoned(twin, gpu, size + 7); GpuParity.Twin grads = float32(random(size + 7, 0.1f), size + 7);
             GpuParity.Twin momentum = float32(new float[size + 7], size + 7)) {
            GpuParity.Twin x = xs.channels(4, 4 + c), y = ys.channels(1, 1 + k), dx = dxs.channels(4, 4 + c);
            GpuParity.Twin wt = flat.view(offset, k, c, r, r), dw = dflat.view(offset, k, c, r, r);
            double rtol = ulp();
            for (boolean accumulate : new boolean[] {false, true}) {
                String what = p + " conv, accumulate " + accumulate + ": ";
                twin.convForward(x.cpu(), wt.cpu(), y.cpu(), conv, accumulate);
                gpu.convForward(x.gpu(), wt.gpu(), y.gpu(), conv, accumulate);
                assertClose(what + "forward", ys, rtol, 0.1);
                twin.convBackwardData(dy.cpu(), wt.cpu(), dx.cpu(), conv, accumulate);
                gpu.convBackwardData(dy.gpu(), wt.gpu(), dx.gpu(), conv, accumulate);
                assertClose(what + "backward data", dxs, rtol, 0.1);
                twin.convBackwardFilter(x.cpu(), dy.cpu(), dw.cpu(), conv, accumulate);
                gpu.convBackwardFilter(x.gpu(), dy.gpu(), dw.gpu(), conv, accumulate);
                assertClose(what + "backward filter (rounded once, kept in float32)", dflat, rtol, 0.1);
                if (!accumulate) {
                    for (GpuParity.Twin t : new GpuParity.Twin[] {y, dx}) {
                        twin.fill(t.cpu(), 0.125);
                        gpu.fill(t.gpu(), 0.125);
                    }
                    twin.fill(dw.cpu(), 0.125);
                    gpu.fill(dw.gpu(), 0.125);
                }
            }
            // The SGD step rewrites the weights' 16-bit copy in its pass; the next convolution must read the new weights.
            SgdParams sgd = new SgdParams(0.5, 0.9, 1e-4, false);
            twin.sgdStep(flat.cpu(), grads.cpu(), momentum.cpu(), sgd);
            gpu.sgdStep(flat.gpu(), grads.gpu(), momentum.gpu(), sgd);
            assertClose(p + ": master weights after SGD, float32", flat, 0);
            twin.convForward(x.cpu(), wt.cpu(), y.cpu(), conv, false);
            gpu.convForward(x.gpu(), wt.gpu(), y.gpu(), conv, false);
            assertClose(p + ": forward after the SGD step", ys, rtol, 0.1);
            // An upload, a fill and a copy into the weights rewrite the parts of the copy they cover.
            float[] fresh = random(k * c * r * r, 0.3f);
            twin.upload(fresh, wt.cpu());
            gpu.upload(fresh, wt.gpu());
            twin.convForward(x.cpu(), wt.cpu(), y.cpu(), conv, false);
            gpu.convForward(x.gpu(), wt.gpu(), y.gpu(), conv, false);
            assertClose(p + ": forward after uploading weights", ys, rtol, 0.1);
            GpuParity.Twin first = flat.view(offset, c * r * r);
            twin.fill(first.cpu(), 0.3);
            gpu.fill(first.gpu(), 0.3);
            twin.copy(grads.view(offset + c * r * r, c * r * r).cpu(), flat.view(offset + 2 * c * r * r, c * r * r).cpu(), false);
            gpu.copy(grads.view(offset + c * r * r, c * r * r).gpu(), flat.view(offset + 2 * c * r * r, c * r * r).gpu(), false);
            twin.convForward(x.cpu(), wt.cpu(), y.cpu(), conv, false);
            gpu.convForward(x.gpu(), wt.gpu(), y.gpu(), conv, false);
            assertClose(p + ": forward after a fill and a copy into the weights", ys, rtol, 0.1);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void batchNormPoolingAndImagesIn16Bits(Precision p) {
        open(p);
        int n = 4, cTotal = 9, c = 5, h = 9, w = 9;
        try (GpuParity.Twin xs = activation(random(n * cTotal * h * w, 2), n, cTotal, h, w); GpuParity.Twin ys = poisonedActivation(n, c + 2, h, w);
             GpuParity.Twin mean = GpuParity.Twin.poisoned(twin, gpu, c); GpuParity.Twin var = GpuParity.Twin.poisoned(twin, gpu, c);
             GpuParity.Twin gamma = float32(random(c, 1), c); GpuParity.Twin beta = float32(random(c, 1), c);
             GpuParity.Twin rm = float32(new float[c], c); GpuParity.Twin rv = float32(random(c, 1), c);
             GpuParity.Twin dy = activation(random(n * c * h * w, 1), n, c, h, w); GpuParity.Twin dxs = poisonedActivation(n, cTotal, h, w);
             GpuParity.Twin dgamma = GpuParity.Twin.poisoned(twin, gpu, c); GpuParity.Twin dbeta = GpuParity.Twin.poisoned(twin, gpu, c)) {
            GpuParity.Twin x = xs.channels(3, 3 + c), y = ys.channels(1, 1 + c), dx = dxs.channels(2, 2 + c);
            twin.batchNormApplyTraining(x.cpu(), mean.cpu(), var.cpu(), false, gamma.cpu(), beta.cpu(), 1e-5, true, y.cpu(), 0.1, rm.cpu(), rv.cpu());
            gpu.batchNormApplyTraining(x.gpu(), mean.gpu(), var.gpu(), false, gamma.gpu(), beta.gpu(), 1e-5, true, y.gpu(), 0.1, rm.gpu(), rv.gpu());
            assertClose(p + ": batch mean (float32)", mean, 1e-5, 1e-3);
            assertClose(p + ": batch var (float32)", var, 1e-5);
            assertClose(p + ": running var (float32)", rv, 1e-5);
            assertClose(p + ": BN-ReLU output", ys, ulp(), 0.01);
            twin.batchNormBackward(x.cpu(), dy.cpu(), mean.cpu(), var.cpu(), gamma.cpu(), beta.cpu(), 1e-5, true, dx.cpu(), false, dgamma.cpu(), dbeta.cpu());
            gpu.batchNormBackward(x.gpu(), dy.gpu(), mean.gpu(), var.gpu(), gamma.gpu(), beta.gpu(), 1e-5, true, dx.gpu(), false, dgamma.gpu(), dbeta.gpu());
            assertClose(p + ": BN backward dx", dxs, ulp(), 0.1);
            assertClose(p + ": dgamma (float32)", dgamma, 1e-4, 0.1);
            assertClose(p + ": dbeta (float32)", dbeta, 1e-4, 0.1);

            Pool2d pool = new Pool2d(3, 2, 1);
            int o = pool.outSize(h);
            try (GpuParity.Twin py = poisonedActivation(n, c, o, o); GpuParity.Twin pdy = activation(random(n * c * o * o, 1), n, c, o, o);
                 GpuParity.Twin pdx = poisonedActivation(n, c, h, w); GpuParity.Twin g = GpuParity.Twin.poisoned(twin, gpu, n, c);
                 GpuParity.Twin gdx = poisonedActivation(n, c, h, w)) {
                twin.maxPoolForward(x.cpu(), py.cpu(), pool);
                gpu.maxPoolForward(x.gpu(), py.gpu(), pool);
                assertClose(p + ": max pooling", py, 0);
                twin.maxPoolBackward(x.cpu(), py.cpu(), pdy.cpu(), pdx.cpu(), pool, false);
                gpu.maxPoolBackward(x.gpu(), py.gpu(), pdy.gpu(), pdx.gpu(), pool, false);
                assertClose(p + ": max pooling backward", pdx, 0);
                twin.avgPoolForward(x.cpu(), py.cpu(), pool);
                gpu.avgPoolForward(x.gpu(), py.gpu(), pool);
                assertClose(p + ": average pooling", py, 0);
                twin.globalAvgPoolForward(x.cpu(), g.cpu());
                gpu.globalAvgPoolForward(x.gpu(), g.gpu());
                assertClose(p + ": global average pooling into float32", g, 1e-6);
                twin.globalAvgPoolBackward(g.cpu(), gdx.cpu(), false);
                gpu.globalAvgPoolBackward(g.gpu(), gdx.gpu(), false);
                assertClose(p + ": global average pooling backward, float32 into 16 bits", gdx, ulp(), 0.01);
            }
        }
        byte[] px = new byte[2 * 3 * 5 * 6];
        rng.nextBytes(px);
        ImageNormalization norm = new ImageNormalization(new float[] {0.49f, 0.48f, 0.45f}, new float[] {0.25f, 0.24f, 0.26f});
        try (GpuParity.Twin images = poisonedActivation(2, 3, 5, 6)) {
            twin.uploadImages(px, images.cpu(), norm);
            gpu.uploadImages(px, images.gpu(), norm);
            assertClose(p + ": 8-bit images normalised into 16 bits, rounded once", images, 0);
        }
    }
}
