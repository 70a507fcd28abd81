package org.densenet.engine.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.LossScaling;
import org.densenet.engine.Pool2d;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every kernel against the CPU backend on fresh random inputs, in channel slices with a batch
 * stride larger than the slice. Each storage lives twice, on the CPU and on the GPU, starts from the
 * same values (NaN where an op must write), and after the same op the WHOLE storages are compared:
 * that checks the values, that every output element was written, and that nothing outside the
 * slice was touched. Where the kernels mirror the CPU's arithmetic the comparison is exact.
 */
class KernelParityGpuTest extends KernelParityTestBase {
    private final CpuBackend cpu = new CpuBackend(2);

    KernelParityGpuTest() {
        super(20240601L);
    }

    /** A storage on both sides with the same contents. */
    private final class Twin {
        final Tensor host;
        final long device;

        Twin(float[] values, int... shape) {
            host = cpu.allocate(DType.F32, shape);
            cpu.upload(values, host);
            device = gpu.upload(values);
        }

        DeviceSlice on(Tensor view) {
            return DeviceSlice.of(view, device);
        }

        float[] cpuValues() {
            float[] a = new float[(int) host.numel()];
            cpu.download(host, a);
            return a;
        }

        float[] gpuValues() {
            return gpu.floats(device, (int) host.numel());
        }
    }


    @AfterEach
    void closeCpu() {
        cpu.close();
    }

    private static float[] poison(int count) {
        float[] a = new float[count];
        Arrays.fill(a, Float.NaN);
        return a;
    }

    private Twin twin(float[] values, int... shape) {
        return new Twin(values, shape);
    }

    private Twin poisoned(int... shape) {
        return new Twin(poison((int) Tensor.numel(shape)), shape);
    }

    /** |gpu - cpu| <= abs + rel * |cpu| everywhere; NaN only where both are NaN. */
    static void assertClose(float[] cpuValues, float[] gpuValues, double rel, double abs, String what) {
        assertEquals(cpuValues.length, gpuValues.length, what);
        for (int i = 0; i < cpuValues.length; i++) {
            float e = cpuValues[i], a = gpuValues[i];
            if (Float.isNaN(e) || Float.isNaN(a)) {
                assertTrue(Float.isNaN(e) && Float.isNaN(a), what + "[" + i + "]: cpu " + e + ", gpu " + a);
                continue;
            }
            assertTrue(Math.abs(a - e) <= abs + rel * Math.abs(e), what + "[" + i + "]: cpu " + e + ", gpu " + a);
        }
    }

    static void assertSame(Twin t, String what) {
        assertArrayEquals(t.cpuValues(), t.gpuValues(), what);
    }

    @Test
    void elementwiseOpsMatchExactly() {
        int n = 4, h = 5, w = 7;
        var ew = new ElementwiseKernels(gpu);
        Twin s = twin(random(n * 10 * h * w, 1), n, 10, h, w), t = twin(random(n * 6 * h * w, 1), n, 6, h, w);
        Tensor a = s.host.channels(2, 6), b = t.host.channels(1, 5);
        cpu.fill(b, 0.25);
        ew.fill(t.on(b), 0.25f);
        assertSame(t, "fill");
        cpu.copy(a, b, true);
        ew.copy(s.on(a), t.on(b), true);
        assertSame(t, "copy accumulate");
        cpu.copy(a, b, false);
        ew.copy(s.on(a), t.on(b), false);
        assertSame(t, "copy");
        cpu.relu(a, b);
        ew.relu(s.on(a), t.on(b));
        assertSame(t, "relu");
        Twin g = twin(random(n * 4 * h * w, 1), n, 4, h, w), dx = twin(random(n * 9 * h * w, 1), n, 9, h, w);
        Tensor dxs = dx.host.channels(3, 7);
        cpu.reluBackward(b, g.host, dxs, true);
        ew.reluBackward(t.on(b), g.on(g.host), dx.on(dxs), true);
        assertSame(dx, "relu backward");
        Twin mask = poisoned(n, 4, h, w);
        long seed = rng.nextLong();
        cpu.dropoutForward(a, b, mask.host, 0.3, seed);
        ew.dropoutForward(s.on(a), t.on(b), mask.on(mask.host), 0.3, seed);
        assertSame(mask, "dropout mask");
        assertSame(t, "dropout output");
        cpu.dropoutBackward(g.host, mask.host, dxs, true);
        ew.dropoutBackward(g.on(g.host), mask.on(mask.host), dx.on(dxs), true);
        assertSame(dx, "dropout backward");
    }

    @Test
    void batchNormMatchesTheCpuBackend() {
        batchNormMatches(6, 9, 11);       // one chunk a channel
        batchNormMatches(10, 33, 33);     // three chunks (4, 4 and 2 samples): partial sums across blocks
    }

    private void batchNormMatches(int n, int h, int w) {
        int ctot = 20, c = 7;
        String shape = " (" + n + " x " + h + "x" + w + ", " + LaunchGeometry.chunks(n, (long) h * w) + ")";
        float[] data = random(n * ctot * h * w, 2);
        for (int i = 0; i < data.length; i++) data[i] += 3f;   // off zero, so the statistics' cancellation is exercised
        Twin s = twin(data, n, ctot, h, w);
        Tensor x = s.host.channels(5, 5 + c);
        Twin mean = poisoned(c), var = poisoned(c), rm = twin(random(c, 1), c), rv = twin(positive(c), c);
        cpu.batchNormStatistics(x, mean.host, var.host);
        new BnStatsKernels(gpu).statistics(s.on(x), mean.device, var.device);
        assertClose(mean.cpuValues(), mean.gpuValues(), 1e-6, 1e-7, "mean" + shape);
        assertClose(var.cpuValues(), var.gpuValues(), 1e-6, 0, "var" + shape);
        // from here on both sides use the CPU's statistics, so the elementwise parts can be exact
        Twin m = twin(mean.cpuValues(), c), v = twin(var.cpuValues(), c);
        long count = (long) n * h * w;
        cpu.batchNormUpdateRunning(m.host, v.host, count, 0.1, rm.host, rv.host);
        new BnStatsKernels(gpu).updateRunning(c, m.device, v.device, count, 0.1, rm.device, rv.device);
        assertSame(rm, "running mean" + shape);
        assertSame(rv, "running var" + shape);

        Twin gamma = twin(positive(c), c), beta = twin(random(c, 0.5), c);
        Twin out = poisoned(n, c + 3, h, w);
        Tensor y = out.host.channels(1, 1 + c);
        var bn = new BnReluKernels(gpu);
        for (boolean relu : new boolean[] {false, true}) {
            cpu.batchNormApply(x, m.host, v.host, gamma.host, beta.host, 1e-5, relu, y);
            bn.apply(s.on(x), m.device, v.device, gamma.device, beta.device, 1e-5, relu, out.on(y));
            assertSame(out, "apply relu=" + relu + shape);
        }
        // a training-mode forward: the running update and the output of one launch, as the CPU's two ops give them
        Twin rmT = twin(random(c, 1), c), rvT = twin(positive(c), c), outT = poisoned(n, c + 3, h, w);
        Tensor yT = outT.host.channels(1, 1 + c);
        cpu.batchNormApplyTraining(x, m.host, v.host, true, gamma.host, beta.host, 1e-5, true, yT, 0.1, rmT.host, rvT.host);
        bn.applyTraining(s.on(x), m.device, v.device, false, gamma.device, beta.device, 1e-5, true, outT.on(yT), 0.1, rmT.device, rvT.device);
        assertSame(outT, "training apply" + shape);
        assertSame(rmT, "running mean of the training apply" + shape);
        assertSame(rvT, "running var of the training apply" + shape);
        // ... and with the statistics finished in the apply kernel: the bits of the separate kernels on the device
        float[] rm0 = random(c, 1), rv0 = positive(c);
        Twin rmS = twin(rm0, c), rvS = twin(rv0, c), meanS = poisoned(c), varS = poisoned(c), outS = poisoned(n, c + 3, h, w);
        Tensor yS = outS.host.channels(1, 1 + c);
        bn.applyTraining(s.on(x), meanS.device, varS.device, true, gamma.device, beta.device, 1e-5, true, outS.on(yS), 0.1,
                rmS.device, rvS.device);
        Twin rmU = twin(rm0, c), rvU = twin(rv0, c), outU = poisoned(n, c + 3, h, w);
        new BnStatsKernels(gpu).updateRunning(c, mean.device, var.device, count, 0.1, rmU.device, rvU.device);
        bn.apply(s.on(x), mean.device, var.device, gamma.device, beta.device, 1e-5, true, outU.on(outU.host.channels(1, 1 + c)));
        assertArrayEquals(mean.gpuValues(), meanS.gpuValues(), "mean finished in the apply" + shape);
        assertArrayEquals(var.gpuValues(), varS.gpuValues(), "var finished in the apply" + shape);
        assertArrayEquals(rmU.gpuValues(), rmS.gpuValues(), "running mean" + shape);
        assertArrayEquals(rvU.gpuValues(), rvS.gpuValues(), "running var" + shape);
        assertArrayEquals(outU.gpuValues(), outS.gpuValues(), "output" + shape);
        // and against the CPU's three ops, within the statistics' rounding
        cpu.batchNormApplyTraining(x, meanS.host, varS.host, false, gamma.host, beta.host, 1e-5, true, yS, 0.1, rmS.host, rvS.host);
        assertClose(meanS.cpuValues(), meanS.gpuValues(), 1e-6, 1e-7, "mean finished in the apply, against the CPU" + shape);
        assertClose(varS.cpuValues(), varS.gpuValues(), 1e-6, 0, "var finished in the apply, against the CPU" + shape);
        assertClose(outS.cpuValues(), outS.gpuValues(), 1e-5, 1e-5, "output with the statistics finished in the apply" + shape);
        assertClose(rmS.cpuValues(), rmS.gpuValues(), 1e-6, 1e-7, "running mean with the statistics finished in the apply" + shape);
        assertClose(rvS.cpuValues(), rvS.gpuValues(), 1e-6, 0, "running var with the statistics finished in the apply" + shape);
        Twin dy = twin(random(n * c * h * w, 1), n, c, h, w), dx = twin(random(n * ctot * h * w, 1), n, ctot, h, w);
        Tensor dxs = dx.host.channels(2, 2 + c);
        Twin dgamma = poisoned(c), dbeta = poisoned(c);
        for (boolean accumulate : new boolean[] {false, true}) {
            cpu.batchNormBackward(x, dy.host, m.host, v.host, gamma.host, beta.host, 1e-5, true, dxs, accumulate, dgamma.host, dbeta.host);
            bn.backward(s.on(x), dy.on(dy.host), m.device, v.device, gamma.device, beta.device, 1e-5, true, dx.on(dxs), accumulate,
                    dgamma.device, dbeta.device);
            assertClose(dbeta.cpuValues(), dbeta.gpuValues(), 1e-5, 1e-5, "dbeta" + shape);
            assertClose(dgamma.cpuValues(), dgamma.gpuValues(), 1e-5, 1e-5, "dgamma" + shape);
            assertClose(dx.cpuValues(), dx.gpuValues(), 1e-5, 1e-6, "dx accumulate=" + accumulate + shape);
            if (!accumulate) {
                // run to run, the same bits: every sum has a fixed order
                float[] dg = dgamma.gpuValues(), db = dbeta.gpuValues(), d = dx.gpuValues();
                bn.backward(s.on(x), dy.on(dy.host), m.device, v.device, gamma.device, beta.device, 1e-5, true, dx.on(dxs), false,
                        dgamma.device, dbeta.device);
                assertArrayEquals(dg, dgamma.gpuValues(), "dgamma again" + shape);
                assertArrayEquals(db, dbeta.gpuValues(), "dbeta again" + shape);
                assertArrayEquals(d, dx.gpuValues(), "dx again" + shape);
            }
            // continue from identical dx so the accumulating pass compares one step only
            dx = twin(dx.cpuValues(), n, ctot, h, w);
            dxs = dx.host.channels(2, 2 + c);
        }
    }

    private float[] positive(int count) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) a[i] = 0.5f + rng.nextFloat();
        return a;
    }

    @Test
    void poolingMatchesExactly() {
        int n = 3, h = 9, w = 9;
        Twin s = twin(random(n * 6 * h * w, 1), n, 6, h, w);
        Tensor x = s.host.channels(1, 4);
        var pool = new PoolKernels(gpu);
        for (Pool2d p : new Pool2d[] {new Pool2d(2, 2, 0), new Pool2d(3, 2, 1), new Pool2d(3, 1, 1)}) {
            int oh = p.outSize(h), ow = p.outSize(w);
            Twin out = poisoned(n, 5, oh, ow);
            Tensor y = out.host.channels(2, 5);
            cpu.avgPoolForward(x, y, p);
            pool.avgForward(s.on(x), out.on(y), p);
            assertSame(out, "avg pool " + p);
            cpu.maxPoolForward(x, y, p);
            pool.maxForward(s.on(x), out.on(y), p);
            assertSame(out, "max pool " + p);
            Twin dy = twin(random(n * 3 * oh * ow, 1), n, 3, oh, ow);
            Twin dx = twin(random(n * 6 * h * w, 1), n, 6, h, w);
            Tensor dxs = dx.host.channels(0, 3);
            for (boolean acc : new boolean[] {true, false}) {
                cpu.avgPoolBackward(dy.host, dxs, p, acc);
                pool.avgBackward(dy.on(dy.host), dx.on(dxs), p, acc);
                assertSame(dx, "avg pool backward " + p + " accumulate=" + acc);
                cpu.maxPoolBackward(x, y, dy.host, dxs, p, acc);
                pool.maxBackward(s.on(x), dy.on(dy.host), dx.on(dxs), p, acc);
                assertSame(dx, "max pool backward " + p + " accumulate=" + acc);
            }
        }
        Twin g = poisoned(n, 3);
        cpu.globalAvgPoolForward(x, g.host);
        pool.globalAvgForward(s.on(x), g.device);
        assertClose(g.cpuValues(), g.gpuValues(), 1e-6, 1e-7, "global avg pool");
        Twin dx = twin(random(n * 6 * h * w, 1), n, 6, h, w);
        cpu.globalAvgPoolBackward(g.host, dx.host.channels(2, 5), true);
        pool.globalAvgBackward(g.device, dx.on(dx.host.channels(2, 5)), true);
        assertClose(dx.cpuValues(), dx.gpuValues(), 1e-6, 1e-7, "global avg pool backward");
    }

    @Test
    void softmaxCrossEntropyMatches() {
        for (int k : new int[] {3, 10, 1000}) {
            int n = 37;
            Twin logits = twin(random(n * k, 3), n, k), dl = poisoned(n, k);
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) labels[i] = rng.nextInt(k);
            Tensor lab = cpu.allocate(DType.I32, n);
            cpu.upload(labels, lab);
            long labDev = gpu.upload(labels), result = gpu.allocate(LossKernels.RESULT_BYTES);
            LossResult expected = cpu.softmaxCrossEntropy(logits.host, lab, dl.host);
            new LossKernels(gpu).softmaxCrossEntropy(logits.device, labDev, dl.device, n, k, result);
            LossResult got = LossKernels.decode(gpu.doubles(result, LossKernels.RESULT_DOUBLES), n);
            assertEquals(expected.loss(), got.loss(), 1e-9 * Math.abs(expected.loss()), "loss K=" + k);
            assertEquals(expected.top1Correct(), got.top1Correct(), "top-1 K=" + k);
            assertEquals(expected.top5Correct(), got.top5Correct(), "top-5 K=" + k);
            assertClose(dl.cpuValues(), dl.gpuValues(), 1e-6, 1e-9, "dlogits K=" + k);
            labels[n / 2] = k;
            long bad = gpu.upload(labels);
            new LossKernels(gpu).softmaxCrossEntropy(logits.device, bad, 0, n, k, result);
            double[] r = gpu.doubles(result, LossKernels.RESULT_DOUBLES);
            assertThrows(IllegalArgumentException.class, () -> LossKernels.decode(r, n));
            assertEquals(n / 2 + 1, r[3]);
        }
    }

    @Test
    void sgdMatchesExactlyOnTheFloat4AndTheScalarPath() {
        int count = 1003;
        for (int shift : new int[] {0, 1}) {   // shift 1: addresses 4 bytes off 16, so the scalar kernel runs
            for (SgdParams sgd : new SgdParams[] {new SgdParams(0.1, 0.9, 1e-4, true), new SgdParams(0.05, 0.9, 5e-4, false)}) {
                float[] p = random(count + 1, 1), g = random(count + 1, 0.1), b = random(count + 1, 0.1);
                Twin tp = twin(p, count + 1), tg = twin(g, count + 1), tb = twin(b, count + 1);
                cpu.sgdStep(tp.host.narrow(0, shift, count), tg.host.narrow(0, shift, count), tb.host.narrow(0, shift, count), sgd);
                assertEquals(shift == 0, SgdKernels.vectorizable(tp.device + 4L * shift, tg.device + 4L * shift, tb.device + 4L * shift, true));
                long lr = gpu.upload(new float[] {(float) sgd.lr()});
                new SgdKernels(gpu).step(tp.device + 4L * shift, tg.device + 4L * shift, tb.device + 4L * shift, count, sgd, lr);
                assertSame(tp, "params " + sgd + " shift " + shift);
                assertSame(tb, "momentum " + sgd + " shift " + shift);
                assertSame(tg, "grads untouched");
            }
        }
    }

    @Test
    void lossScalingCheckAndUpdateMatchTheCpuExactly() {
        LossScaling rule = new LossScaling(1024, 2, 0.5, 2);
        var kernels = new LossScaleKernels(gpu);
        Twin scaler = twin(rule.initialState(), LossScaling.STATE_SIZE);
        int count = 20_011;
        // clean, clean (the scale grows), +inf, NaN (each backs off), then clean again
        int[] plant = {-1, -1, rng.nextInt(count), rng.nextInt(count), -1};
        float[] bad = {0, 0, Float.POSITIVE_INFINITY, Float.NaN, 0};
        for (int k = 0; k < plant.length; k++) {
            float[] g = random(count, 10);
            if (plant[k] >= 0) g[plant[k]] = bad[k];
            Twin tg = twin(g, count);
            cpu.checkGradientsAndUpdateScale(tg.host, scaler.host, rule);
            kernels.checkAndUpdate(tg.device, count, scaler.device, rule);
            assertSame(scaler, "state after check " + k + " (" + bad[k] + " at " + plant[k] + ")");
        }
        assertArrayEquals(new float[] {512, 1, 0, 1f / 512, 2}, scaler.gpuValues());
        // one gradient more than the check has threads: the last is found by the grid-stride loop's second round
        int many = LossScaleKernels.CHECK_BLOCKS * LaunchGeometry.THREADS + 1;
        assertEquals(LossScaleKernels.CHECK_BLOCKS, LossScaleKernels.checkGeometry(many).gridX());
        float[] g = random(many, 1);
        g[many - 1] = Float.NEGATIVE_INFINITY;
        Twin tg = twin(g, many);
        cpu.checkGradientsAndUpdateScale(tg.host, scaler.host, rule);
        kernels.checkAndUpdate(tg.device, many, scaler.device, rule);
        assertSame(scaler, "state after an inf in the last of " + many + " gradients");
        assertEquals(1f, scaler.gpuValues()[LossScaling.FOUND]);
    }

    @Test
    void lossScaledSgdSkipsOrUnscalesExactlyOnTheFloat4AndTheScalarPath() {
        int count = 1003;
        SgdParams sgd = new SgdParams(0.1, 0.9, 1e-4, true);
        Tensor lr = cpu.allocate(DType.F32, 1);
        cpu.upload(new float[] {0.1f}, lr);
        long lrDevice = gpu.upload(new float[] {0.1f});
        for (int shift : new int[] {0, 1}) {
            for (boolean found : new boolean[] {false, true}) {
                float[] p = random(count + 1, 1), g = random(count + 1, 100), b = random(count + 1, 0.1);
                float[] state = LossScaling.state(4096, 0, 0);
                state[LossScaling.FOUND] = found ? 1 : 0;
                state[LossScaling.UNSCALE] = 1f / 4096;
                Twin tp = twin(p, count + 1), tg = twin(g, count + 1), tb = twin(b, count + 1), ts = twin(state, LossScaling.STATE_SIZE);
                cpu.sgdStep(tp.host.narrow(0, shift, count), tg.host.narrow(0, shift, count), tb.host.narrow(0, shift, count), sgd, lr, ts.host);
                new SgdKernels(gpu).step(tp.device + 4L * shift, tg.device + 4L * shift, tb.device + 4L * shift, count, sgd, lrDevice, ts.device);
                String what = (found ? "skipped" : "unscaled") + " step, shift " + shift;
                assertSame(tp, "params, " + what);
                assertSame(tb, "momentum, " + what);
                if (found) assertArrayEquals(p, tp.gpuValues(), "a skipped step leaves the parameters, " + what);
                else assertTrue(!Arrays.equals(p, tp.gpuValues()), "an unscaled step moves the parameters, " + what);
            }
        }
        lr.close();
    }

    @Test
    void lossGradientScalingMatchesExactly() {
        Twin dl = twin(random(6 * 10, 0.3), 6, 10);
        Twin scaler = twin(LossScaling.DEFAULT.initialState(), LossScaling.STATE_SIZE);
        cpu.scaleLossGradient(dl.host, scaler.host);
        new LossScaleKernels(gpu).scale(dl.device, 60, scaler.device);
        assertSame(dl, "dlogits times 65536");
    }

    @Test
    void augmentationMatchesItsCpuTwinExactly() {
        int n = 5, c = 3, h = 32, w = 32;
        byte[] images = new byte[n * c * h * w];
        rng.nextBytes(images);
        long src = gpu.upload(images), dst = gpu.upload(poison(images.length));
        Augmentation aug = new Augmentation(4, true, new float[] {0.49f, 0.48f, 0.45f}, new float[] {0.25f, 0.24f, 0.26f});
        for (boolean nhwc : new boolean[] {false, true}) {
            long seed = rng.nextLong();
            float[] expected = new float[images.length];
            AugmentReference.cropFlipNormalize(images, nhwc, n, c, h, w, aug, seed, 1000, expected);
            new AugmentKernels(gpu).cropFlipNormalize(src, nhwc, n, c, h, w, aug, seed, 1000, dst);
            assertArrayEquals(expected, gpu.floats(dst, images.length), "nhwc=" + nhwc);
        }
    }
}
