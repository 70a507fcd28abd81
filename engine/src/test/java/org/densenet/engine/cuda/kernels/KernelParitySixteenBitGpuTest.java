package org.densenet.engine.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import org.densenet.engine.DType;
import org.densenet.engine.Float16;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Precision;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The 16-bit kernels (_bf16, _f16) against the CPU twin of the 16-bit path ({@code new
 * CpuBackend(threads, precision)}), on fresh random inputs, in channel slices with a batch stride
 * larger than the slice, whole storages compared as in {@link KernelParityGpuTest}. The device holds
 * 16-bit values; the twin holds float32 tensors with the same values and rounds what each op
 * stores. Where the kernel computes what the twin computes (everything elementwise, pooling, SGD,
 * augmentation) the comparison is exact; where a reduction sums in another order (batch-norm
 * statistics and backward) a float32 value may land on the other side of a 16-bit rounding
 * boundary, so those outputs may differ by one unit in the 16-bit format's last place, and the
 * float32 statistics and parameter gradients by the f32 kernels' own tolerance.
 */
class KernelParitySixteenBitGpuTest extends KernelParityTestBase {
    private CpuBackend twin;
    private Precision precision;
    private DType type;

    KernelParitySixteenBitGpuTest() {
        super(20240917L);
    }

    @AfterEach
    void closeTwin() {
        if (twin != null) twin.close();
    }

    private void open(Precision p) {
        precision = p;
        type = DType.activations(p);
        twin = new CpuBackend(2, p);
    }

    /** A storage on both sides with the same values: float32 in the twin, {@code deviceType} on the device. */
    private final class Twin {
        final Tensor host;
        final long device;
        final DType deviceType;

        Twin(float[] values, DType deviceType, int... shape) {
            this.deviceType = deviceType;
            float[] v = deviceType == DType.F32 ? values : rounded(values);
            host = twin.allocate(DType.F32, shape);
            twin.upload(v, host);
            device = deviceType == DType.F32 ? gpu.upload(v) : gpu.upload(bits(v));
        }

        DeviceSlice on(Tensor view) {
            DeviceSlice s = DeviceSlice.of(view, device);
            return deviceType == DType.F32 ? s : s.as(deviceType, device + (long) deviceType.bytes() * view.offset());
        }

        float[] cpuValues() {
            float[] a = new float[(int) host.numel()];
            twin.download(host, a);
            return a;
        }

        float[] gpuValues() {
            int n = (int) host.numel();
            return deviceType == DType.F32 ? gpu.floats(device, n) : widen(gpu.shorts(device, n));
        }
    }

    private Twin twin16(float[] values, int... shape) {
        return new Twin(values, type, shape);
    }

    private Twin poisoned16(int... shape) {
        float[] a = new float[(int) Tensor.numel(shape)];
        Arrays.fill(a, Float.NaN);
        return new Twin(a, type, shape);
    }

    private Twin twin32(float[] values, int... shape) {
        return new Twin(values, DType.F32, shape);
    }

    private Twin poisoned32(int... shape) {
        float[] a = new float[(int) Tensor.numel(shape)];
        Arrays.fill(a, Float.NaN);
        return new Twin(a, DType.F32, shape);
    }

    private float[] positive(int count) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) a[i] = 0.5f + rng.nextFloat();
        return a;
    }

    private float[] rounded(float[] v) {
        float[] r = v.clone();
        Float16.round(r, 0, r.length, precision);
        return r;
    }

    private short[] bits(float[] v) {
        short[] b = new short[v.length];
        for (int i = 0; i < v.length; i++) b[i] = precision == Precision.BF16 ? Float16.toBf16Bits(v[i]) : Float16.toFp16Bits(v[i]);
        return b;
    }

    private float[] widen(short[] b) {
        float[] v = new float[b.length];
        for (int i = 0; i < b.length; i++) v[i] = precision == Precision.BF16 ? Float16.fromBf16Bits(b[i]) : Float16.fromFp16Bits(b[i]);
        return v;
    }

    private static void assertSame(Twin t, String what) {
        assertArrayEquals(t.cpuValues(), t.gpuValues(), what);
    }

    /** Equal, or one unit apart in the 16-bit format's last place (a float32 value that rounded the other way). */
    private void assertWithinOneUlp(Twin t, String what) {
        assertWithinOneUlp(t, what, 0);
    }

    /**
     * Within one 16-bit ulp of the twin after a float32 difference of at most {@code floor} before the
     * rounding: what a value computed from the same terms in another order can do where its terms
     * cancel (batch norm's dx = sc * g + b * (x - mean) + d, whose b and d come from sums the GPU adds
     * in chunks), since a tiny result then carries the terms' float32 rounding, many of its own ulps.
     */
    private void assertWithinOneUlp(Twin t, String what, double floor) {
        float[] e = t.cpuValues(), a = t.gpuValues();
        int off = 0;
        for (int i = 0; i < e.length; i++) {
            if (Float.isNaN(e[i]) || Float.isNaN(a[i])) {
                assertTrue(Float.isNaN(e[i]) && Float.isNaN(a[i]), what + "[" + i + "]: twin " + e[i] + ", gpu " + a[i]);
                continue;
            }
            if (e[i] == a[i]) continue;
            off++;
            double ulp = ulp16(Math.max(Math.abs(e[i]), Math.abs(a[i])));
            if (Math.abs(a[i] - e[i]) > ulp + floor) fail(what + "[" + i + "]: twin " + e[i] + ", gpu " + a[i] + ", more than one 16-bit ulp (" + ulp + ") apart");
        }
        assertTrue(off <= Math.max(2, e.length / 20), what + ": " + off + " of " + e.length + " values one ulp apart, more than a few boundary cases");
    }

    private static double maxAbs(float[] v) {
        double m = 0;
        for (float f : v) if (!Float.isNaN(f)) m = Math.max(m, Math.abs(f));
        return m;
    }

    /** The spacing of the 16-bit format's values at magnitude v (its subnormal step below the normal range). */
    private double ulp16(double v) {
        int mantissaBits = precision == Precision.BF16 ? 7 : 10;
        double minNormal = precision == Precision.BF16 ? Float.MIN_NORMAL : 0x1p-14;
        double m = Math.max(v, minNormal);
        return Math.scalb(1.0, Math.getExponent(m) - mantissaBits);
    }

    static void assertClose(float[] cpuValues, float[] gpuValues, double rel, double abs, String what) {
        KernelParityGpuTest.assertClose(cpuValues, gpuValues, rel, abs, what);
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void elementwiseOpsMatchTheTwinExactly(Precision p) {
        open(p);
        int n = 4, h = 5, w = 7;
        var ew = new ElementwiseKernels(gpu);
        Twin s = twin16(random(n * 10 * h * w, 1), n, 10, h, w), t = twin16(random(n * 6 * h * w, 1), n, 6, h, w);
        Tensor a = s.host.channels(2, 6), b = t.host.channels(1, 5);
        twin.fill(b, 0.25);
        ew.fill(t.on(b), 0.25f);
        assertSame(t, "fill " + p);
        twin.copy(a, b, true);
        ew.copy(s.on(a), t.on(b), true);
        assertSame(t, "copy accumulate " + p);
        twin.copy(a, b, false);
        ew.copy(s.on(a), t.on(b), false);
        assertSame(t, "copy " + p);
        twin.relu(a, b);
        ew.relu(s.on(a), t.on(b));
        assertSame(t, "relu " + p);
        Twin g = twin16(random(n * 4 * h * w, 1), n, 4, h, w), dx = twin16(random(n * 9 * h * w, 1), n, 9, h, w);
        Tensor dxs = dx.host.channels(3, 7);
        twin.reluBackward(b, g.host, dxs, true);
        ew.reluBackward(t.on(b), g.on(g.host), dx.on(dxs), true);
        assertSame(dx, "relu backward " + p);
        Twin mask = poisoned32(n, 4, h, w);
        long seed = rng.nextLong();
        twin.dropoutForward(a, b, mask.host, 0.3, seed);
        ew.dropoutForward(s.on(a), t.on(b), mask.on(mask.host), 0.3, seed);
        assertSame(mask, "dropout mask (float32) " + p);
        assertSame(t, "dropout output " + p);
        twin.dropoutBackward(g.host, mask.host, dxs, true);
        ew.dropoutBackward(g.on(g.host), mask.on(mask.host), dx.on(dxs), true);
        assertSame(dx, "dropout backward " + p);

        // conversions: float32 into 16 bits rounds once (as the twin stores), 16 bits into float32 widens exactly
        float[] wide = random(n * 6 * h * w, 3);
        Twin f = twin32(wide, n, 6, h, w), narrow = poisoned16(n, 6, h, w);
        ew.copy(f.on(f.host), narrow.on(narrow.host), false);
        assertArrayEquals(rounded(wide), narrow.gpuValues(), "float32 to " + p + ", rounded to nearest even");
        Twin back = twin32(random(n * 6 * h * w, 1), n, 6, h, w);
        float[] sum = back.cpuValues();
        float[] r = rounded(wide);
        for (int i = 0; i < sum.length; i++) sum[i] += r[i];
        ew.copy(narrow.on(narrow.host), back.on(back.host), true);
        assertArrayEquals(sum, back.gpuValues(), p + " added into float32, widened exactly");
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void batchNormMatchesTheTwin(Precision p) {
        open(p);
        batchNormMatches(6, 9, 11);       // one chunk a channel
        batchNormMatches(10, 33, 33);     // three chunks: partial sums across blocks
    }

    private void batchNormMatches(int n, int h, int w) {
        int ctot = 20, c = 7;
        String shape = " " + precision + " (" + n + " x " + h + "x" + w + ")";
        float[] data = random(n * ctot * h * w, 2);
        for (int i = 0; i < data.length; i++) data[i] += 3f;
        Twin s = twin16(data, n, ctot, h, w);
        Tensor x = s.host.channels(5, 5 + c);
        Twin mean = poisoned32(c), var = poisoned32(c);
        twin.batchNormStatistics(x, mean.host, var.host);
        new BnStatsKernels(gpu).statistics(s.on(x), mean.device, var.device);
        assertClose(mean.cpuValues(), mean.gpuValues(), 1e-6, 1e-7, "mean" + shape);
        assertClose(var.cpuValues(), var.gpuValues(), 1e-6, 0, "var" + shape);
        // both sides use the twin's statistics from here on, so the elementwise parts are exact
        Twin m = twin32(mean.cpuValues(), c), v = twin32(var.cpuValues(), c);
        Twin gamma = twin32(positive(c), c), beta = twin32(random(c, 0.5), c);
        var bn = new BnReluKernels(gpu);
        for (boolean relu : new boolean[] {false, true}) {
            Twin out = poisoned16(n, c + 3, h, w);
            Tensor y = out.host.channels(1, 1 + c);
            twin.batchNormApply(x, m.host, v.host, gamma.host, beta.host, 1e-5, relu, y);
            bn.apply(s.on(x), m.device, v.device, gamma.device, beta.device, 1e-5, relu, out.on(y));
            assertSame(out, "apply relu=" + relu + shape);
        }
        Twin rm = twin32(random(c, 1), c), rv = twin32(positive(c), c), outT = poisoned16(n, c + 3, h, w);
        Tensor yT = outT.host.channels(1, 1 + c);
        twin.batchNormApplyTraining(x, m.host, v.host, true, gamma.host, beta.host, 1e-5, true, yT, 0.1, rm.host, rv.host);
        bn.applyTraining(s.on(x), m.device, v.device, false, gamma.device, beta.device, 1e-5, true, outT.on(yT), 0.1, rm.device, rv.device);
        assertSame(outT, "training apply" + shape);
        assertSame(rm, "running mean (float32)" + shape);
        assertSame(rv, "running var (float32)" + shape);
        // statistics finished in the apply kernel: within the statistics' rounding, then one 16-bit ulp
        Twin meanS = poisoned32(c), varS = poisoned32(c), rmS = twin32(random(c, 1), c), rvS = twin32(positive(c), c);
        Twin outS = poisoned16(n, c + 3, h, w);
        Tensor yS = outS.host.channels(1, 1 + c);
        twin.batchNormApplyTraining(x, meanS.host, varS.host, false, gamma.host, beta.host, 1e-5, true, yS, 0.1, rmS.host, rvS.host);
        bn.applyTraining(s.on(x), meanS.device, varS.device, true, gamma.device, beta.device, 1e-5, true, outS.on(yS), 0.1,
                rmS.device, rvS.device);
        assertClose(meanS.cpuValues(), meanS.gpuValues(), 1e-6, 1e-7, "mean finished in the apply" + shape);
        assertClose(varS.cpuValues(), varS.gpuValues(), 1e-6, 0, "var finished in the apply" + shape);
        // y = sc * x + sh cancels near zero, where the statistics' float32 rounding shows (see the floor below)
        assertWithinOneUlp(outS, "output with the statistics finished in the apply" + shape, 0x1p-20 * maxAbs(outS.cpuValues()));

        Twin dy = twin16(random(n * c * h * w, 1), n, c, h, w), dx = twin16(random(n * ctot * h * w, 1), n, ctot, h, w);
        Tensor dxs = dx.host.channels(2, 2 + c);
        Twin dgamma = poisoned32(c), dbeta = poisoned32(c);
        for (boolean accumulate : new boolean[] {false, true}) {
            twin.batchNormBackward(x, dy.host, m.host, v.host, gamma.host, beta.host, 1e-5, true, dxs, accumulate, dgamma.host, dbeta.host);
            bn.backward(s.on(x), dy.on(dy.host), m.device, v.device, gamma.device, beta.device, 1e-5, true, dx.on(dxs), accumulate,
                    dgamma.device, dbeta.device);
            assertClose(dbeta.cpuValues(), dbeta.gpuValues(), 1e-5, 1e-5, "dbeta" + shape);
            assertClose(dgamma.cpuValues(), dgamma.gpuValues(), 1e-5, 1e-5, "dgamma" + shape);
            // float32's rounding of the terms: a few units of 2^-24 of the largest |dx|
            assertWithinOneUlp(dx, "dx accumulate=" + accumulate + shape, 0x1p-20 * maxAbs(dx.cpuValues()));
            dx = twin16(dx.cpuValues(), n, ctot, h, w);   // continue from identical dx
            dxs = dx.host.channels(2, 2 + c);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void poolingMatchesTheTwinExactly(Precision p) {
        open(p);
        int n = 3, h = 9, w = 9;
        Twin s = twin16(random(n * 6 * h * w, 1), n, 6, h, w);
        Tensor x = s.host.channels(1, 4);
        var pool = new PoolKernels(gpu);
        for (Pool2d pl : new Pool2d[] {new Pool2d(2, 2, 0), new Pool2d(3, 2, 1)}) {
            int oh = pl.outSize(h), ow = pl.outSize(w);
            Twin out = poisoned16(n, 5, oh, ow);
            Tensor y = out.host.channels(2, 5);
            twin.avgPoolForward(x, y, pl);
            pool.avgForward(s.on(x), out.on(y), pl);
            assertSame(out, "avg pool " + pl + " " + p);
            twin.maxPoolForward(x, y, pl);
            pool.maxForward(s.on(x), out.on(y), pl);
            assertSame(out, "max pool " + pl + " " + p);
            Twin dy = twin16(random(n * 3 * oh * ow, 1), n, 3, oh, ow);
            Twin dx = twin16(random(n * 6 * h * w, 1), n, 6, h, w);
            Tensor dxs = dx.host.channels(0, 3);
            for (boolean acc : new boolean[] {true, false}) {
                twin.avgPoolBackward(dy.host, dxs, pl, acc);
                pool.avgBackward(dy.on(dy.host), dx.on(dxs), pl, acc);
                assertSame(dx, "avg pool backward " + pl + " accumulate=" + acc + " " + p);
                twin.maxPoolBackward(x, y, dy.host, dxs, pl, acc);
                pool.maxBackward(s.on(x), dy.on(dy.host), dx.on(dxs), pl, acc);
                assertSame(dx, "max pool backward " + pl + " accumulate=" + acc + " " + p);
            }
        }
        Twin g = poisoned32(n, 3);
        twin.globalAvgPoolForward(x, g.host);
        pool.globalAvgForward(s.on(x), g.device);
        assertClose(g.cpuValues(), g.gpuValues(), 1e-6, 1e-7, "global avg pool (float32 out of " + p + ")");
        Twin gd = twin32(g.cpuValues(), n, 3);   // the same float32 gradient on both sides
        Twin dx = twin16(random(n * 6 * h * w, 1), n, 6, h, w);
        twin.globalAvgPoolBackward(gd.host, dx.host.channels(2, 5), true);
        pool.globalAvgBackward(gd.device, dx.on(dx.host.channels(2, 5)), true);
        assertSame(dx, "global avg pool backward (float32 into " + p + ")");
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void sgdWritesTheRoundedCopyOfTheMasterWeightsInTheSamePass(Precision p) {
        open(p);
        int count = 1003;
        for (int shift : new int[] {0, 1}) {   // shift 1: 4 bytes off 16, so the scalar kernel runs
            for (boolean found : new boolean[] {false, true}) {
                SgdParams sgd = new SgdParams(0.1, 0.9, 1e-4, true);
                float[] params = random(count + 1, 1), g = random(count + 1, 0.1), b = random(count + 1, 0.1);
                Twin tp = twin32(params, count + 1), tg = twin32(g, count + 1), tb = twin32(b, count + 1);
                float[] stale = rounded(random(count + 1, 1));
                long copy = gpu.upload(bits(stale));
                float[] state = org.densenet.engine.LossScaling.state(4096, 0, 0);
                state[org.densenet.engine.LossScaling.FOUND] = found ? 1 : 0;
                state[org.densenet.engine.LossScaling.UNSCALE] = 1f / 4096;
                Twin ts = twin32(state, state.length);
                Tensor lr = twin.allocate(DType.F32, 1);
                twin.upload(new float[] {0.1f}, lr);
                long lrDevice = gpu.upload(new float[] {0.1f});
                twin.sgdStep(tp.host.narrow(0, shift, count), tg.host.narrow(0, shift, count), tb.host.narrow(0, shift, count), sgd, lr, ts.host);
                assertEquals(shift == 0, SgdKernels.vectorizable(tp.device + 4L * shift, tg.device + 4L * shift, tb.device + 4L * shift, true));
                new SgdKernels(gpu).step(tp.device + 4L * shift, tg.device + 4L * shift, tb.device + 4L * shift, count, sgd, lrDevice,
                        ts.device, copy + 2L * shift, type);
                String what = p + (found ? " skipped" : " unscaled") + " step, shift " + shift;
                assertSame(tp, "master weights (float32), " + what);
                assertSame(tb, "momentum, " + what);
                float[] expected = rounded(tp.cpuValues());
                float[] got = widen(gpu.shorts(copy, count + 1));
                if (found) {
                    assertArrayEquals(stale, got, "a skipped step writes no copy either, " + what);
                } else {
                    assertArrayEquals(Arrays.copyOfRange(expected, shift, shift + count), Arrays.copyOfRange(got, shift, shift + count),
                            "the 16-bit copy is the updated weights rounded once, " + what);
                    assertEquals(stale[shift == 0 ? count : 0], got[shift == 0 ? count : 0], "the element outside the step is untouched, " + what);
                }
                lr.close();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void augmentationWritesItsCpuTwinRoundedOnce(Precision p) {
        open(p);
        int n = 3, c = 3, h = 16, w = 16;
        byte[] images = new byte[n * c * h * w];
        rng.nextBytes(images);
        long src = gpu.upload(images), dst = gpu.upload(new short[images.length]);
        Augmentation aug = new Augmentation(4, true, new float[] {0.49f, 0.48f, 0.45f}, new float[] {0.25f, 0.24f, 0.26f});
        long seed = rng.nextLong();
        float[] expected = new float[images.length];
        AugmentReference.cropFlipNormalize(images, false, n, c, h, w, aug, seed, 1000, expected);
        new AugmentKernels(gpu).cropFlipNormalize(src, false, n, c, h, w, aug, seed, 1000, dst, type);
        assertArrayEquals(rounded(expected), widen(gpu.shorts(dst, images.length)), p.toString());
    }
}
