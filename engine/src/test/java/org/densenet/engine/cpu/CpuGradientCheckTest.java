package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.OpTesting.assertGradient;
import static org.densenet.engine.cpu.OpTesting.dot;
import static org.densenet.engine.cpu.OpTesting.positive;
import static org.densenet.engine.cpu.OpTesting.random;
import static org.densenet.engine.cpu.OpTesting.size;
import static org.densenet.engine.cpu.OpTesting.slice;
import static org.densenet.engine.cpu.OpTesting.tensor;
import static org.densenet.engine.cpu.OpTesting.values;

import java.util.Random;
import java.util.function.ToDoubleFunction;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Float64 finite-difference checks of every backward op: the loss is a random linear
 * functional sum(r * output) (or the loss itself for cross-entropy), activations are channel
 * slices of bigger storages, and backward ops that can accumulate do so onto random values.
 */
class CpuGradientCheckTest {
    private static final DType F64 = DType.F64;
    private static final double TOL = 1e-6;
    private final CpuBackend b = new CpuBackend(2);
    private final Random rng = new Random(20240611);

    @AfterEach
    void close() {
        b.close();
    }

    /** Gradient written with accumulate=true onto random prior values, minus the prior. */
    private double[] accumulated(Tensor out, Runnable backward) {
        double[] prior = random(rng, (int) out.numel());
        b.upload(prior, out);
        backward.run();
        double[] g = values(b, out);
        for (int i = 0; i < g.length; i++) g[i] -= prior[i];
        return g;
    }

    @ParameterizedTest(name = "kernel {0} stride {1} pad {2} input {3}")
    @CsvSource({"3,1,1,6", "1,1,0,5", "1,2,0,6", "3,2,0,7", "5,2,2,9", "7,2,3,11", "2,1,1,4"})
    void convGradientsMatchFiniteDifferences(int kernel, int stride, int pad, int in) {
        int n = 2, c = 3, k = 4;
        Conv2d conv = new Conv2d(stride, pad);
        int p = conv.outSize(in, kernel);
        double[] xh = random(rng, size(n, c, in, in)), wh = random(rng, size(k, c, kernel, kernel)), r = random(rng, size(n, k, p, p));
        Tensor x = slice(b, F64, 1, 2, 0, n, c, in, in);
        b.upload(xh, x);
        // filters are views into flat parameter buffers, at an offset, as the model keeps them
        Tensor w = b.allocate(F64, wh.length + 7).narrow(0, 7, wh.length).reshape(k, c, kernel, kernel);
        b.upload(wh, w);
        Tensor y = slice(b, F64, 2, 1, Double.NaN, n, k, p, p);
        Tensor dy = slice(b, F64, 0, 3, 0, n, k, p, p);
        b.upload(r, dy);
        Tensor dx = slice(b, F64, 2, 1, 0, n, c, in, in);
        Tensor dw = b.allocate(F64, wh.length + 2).narrow(0, 2, wh.length).reshape(k, c, kernel, kernel);

        double[] gx = accumulated(dx, () -> b.convBackwardData(dy, w, dx, conv, true));
        double[] gw = accumulated(dw, () -> b.convBackwardFilter(x, dy, dw, conv, true));

        assertGradient("conv dx", xh, gx, xv -> {
            b.upload(xv, x);
            b.convForward(x, w, y, conv, false);
            return dot(values(b, y), r);
        }, 150, TOL);
        b.upload(xh, x);
        assertGradient("conv dw", wh, gw, wv -> {
            b.upload(wv, w);
            b.convForward(x, w, y, conv, false);
            return dot(values(b, y), r);
        }, 150, TOL);
    }

    @ParameterizedTest(name = "relu {0}")
    @ValueSource(booleans = {false, true})
    void batchNormTrainingGradientsFollowTheStatistics(boolean relu) {
        int n = 3, c = 4, h = 3, w = 3;
        double eps = 1e-5;
        double[] xh = random(rng, size(n, c, h, w)), gh = positive(rng, c, 0.5, 1.5), bh = random(rng, c), r = random(rng, size(n, c, h, w));
        Tensor x = slice(b, F64, 2, 1, 0, n, c, h, w);
        b.upload(xh, x);
        Tensor gamma = tensor(b, F64, gh, c), beta = tensor(b, F64, bh, c);
        Tensor mean = b.allocate(F64, c), var = b.allocate(F64, c);
        Tensor y = slice(b, F64, 1, 1, Double.NaN, n, c, h, w);
        Tensor dy = slice(b, F64, 0, 2, 0, n, c, h, w);
        b.upload(r, dy);
        Tensor dx = slice(b, F64, 1, 0, 0, n, c, h, w);
        Tensor dgamma = b.allocate(F64, c), dbeta = b.allocate(F64, c);
        b.batchNormStatistics(x, mean, var);
        double[] gx = accumulated(dx, () -> b.batchNormBackward(x, dy, mean, var, gamma, beta, eps, relu, dx, true, dgamma, dbeta));
        double[] gg = values(b, dgamma), gb = values(b, dbeta);

        ToDoubleFunction<double[]> lossX = xv -> {
            b.upload(xv, x);
            b.batchNormStatistics(x, mean, var);
            b.batchNormApply(x, mean, var, gamma, beta, eps, relu, y);
            return dot(values(b, y), r);
        };
        assertGradient("batch norm dx", xh, gx, lossX, 200, TOL);
        lossX.applyAsDouble(xh);
        assertGradient("batch norm dgamma", gh, gg, gv -> {
            b.upload(gv, gamma);
            b.batchNormApply(x, mean, var, gamma, beta, eps, relu, y);
            return dot(values(b, y), r);
        }, c, TOL);
        b.upload(gh, gamma);
        assertGradient("batch norm dbeta", bh, gb, bv -> {
            b.upload(bv, beta);
            b.batchNormApply(x, mean, var, gamma, beta, eps, relu, y);
            return dot(values(b, y), r);
        }, c, TOL);
    }

    @ParameterizedTest(name = "{0} pool kernel {1} stride {2} pad {3}")
    @CsvSource({"avg,2,2,0", "avg,3,1,1", "avg,3,2,1", "max,3,2,1", "max,2,2,0", "max,3,1,1"})
    void poolGradientsMatchFiniteDifferences(String kind, int kernel, int stride, int pad) {
        int n = 2, c = 3, in = 7;
        Pool2d pool = new Pool2d(kernel, stride, pad);
        int p = pool.outSize(in);
        double[] xh = random(rng, size(n, c, in, in)), r = random(rng, size(n, c, p, p));
        Tensor x = slice(b, F64, 1, 1, 0, n, c, in, in);
        b.upload(xh, x);
        Tensor y = slice(b, F64, 0, 2, Double.NaN, n, c, p, p);
        Tensor dy = slice(b, F64, 1, 0, 0, n, c, p, p);
        b.upload(r, dy);
        Tensor dx = slice(b, F64, 0, 1, 0, n, c, in, in);
        boolean max = kind.equals("max");
        if (max) b.maxPoolForward(x, y, pool);
        double[] gx = accumulated(dx, () -> {
            if (max) b.maxPoolBackward(x, y, dy, dx, pool, true);
            else b.avgPoolBackward(dy, dx, pool, true);
        });
        assertGradient(kind + " pool dx", xh, gx, xv -> {
            b.upload(xv, x);
            if (max) b.maxPoolForward(x, y, pool);
            else b.avgPoolForward(x, y, pool);
            return dot(values(b, y), r);
        }, 300, TOL);
    }

    @Test
    void globalAvgPoolGradientMatchesFiniteDifferences() {
        int n = 2, c = 3, h = 4, w = 5;
        double[] xh = random(rng, size(n, c, h, w)), r = random(rng, n * c);
        Tensor x = slice(b, F64, 1, 1, 0, n, c, h, w);
        b.upload(xh, x);
        Tensor y = b.allocate(F64, n, c), dy = tensor(b, F64, r, n, c);
        Tensor dx = slice(b, F64, 2, 0, 0, n, c, h, w);
        double[] gx = accumulated(dx, () -> b.globalAvgPoolBackward(dy, dx, true));
        assertGradient("global pool dx", xh, gx, xv -> {
            b.upload(xv, x);
            b.globalAvgPoolForward(x, y);
            return dot(values(b, y), r);
        }, 200, TOL);
    }

    @Test
    void linearGradientsMatchFiniteDifferences() {
        int n = 5, f = 7, o = 3;
        double[] xh = random(rng, n * f), wh = random(rng, o * f), bh = random(rng, o), r = random(rng, n * o);
        Tensor x = tensor(b, F64, xh, n, f), w = tensor(b, F64, wh, o, f), bias = tensor(b, F64, bh, o);
        Tensor y = b.allocate(F64, n, o), dy = tensor(b, F64, r, n, o);
        Tensor dx = b.allocate(F64, n, f), dw = b.allocate(F64, o, f), db = b.allocate(F64, o);
        b.linearBackward(x, w, dy, dx, dw, db);
        double[] gx = values(b, dx), gw = values(b, dw), gb = values(b, db);
        ToDoubleFunction<double[]> forward = ignored -> {
            b.linearForward(x, w, bias, y);
            return dot(values(b, y), r);
        };
        assertGradient("linear dx", xh, gx, xv -> {
            b.upload(xv, x);
            return forward.applyAsDouble(xv);
        }, 100, TOL);
        b.upload(xh, x);
        assertGradient("linear dw", wh, gw, wv -> {
            b.upload(wv, w);
            return forward.applyAsDouble(wv);
        }, 100, TOL);
        b.upload(wh, w);
        assertGradient("linear db", bh, gb, bv -> {
            b.upload(bv, bias);
            return forward.applyAsDouble(bv);
        }, 100, TOL);
    }

    @Test
    void softmaxCrossEntropyGradientMatchesFiniteDifferences() {
        int n = 4, k = 6;
        double[] lh = random(rng, n * k);
        for (int i = 0; i < lh.length; i++) lh[i] *= 3;
        Tensor logits = tensor(b, F64, lh, n, k);
        Tensor labels = b.allocate(DType.I32, n);
        b.upload(new int[] {0, 5, 2, 2}, labels);
        Tensor dl = b.allocate(F64, n, k);
        b.softmaxCrossEntropy(logits, labels, dl);
        assertGradient("cross-entropy dlogits", lh, values(b, dl), lv -> {
            b.upload(lv, logits);
            return b.softmaxCrossEntropy(logits, labels, null).loss();
        }, 100, TOL);
    }

    @Test
    void dropoutGradientIsTheMask() {
        int n = 2, c = 3, h = 4, w = 4;
        double[] xh = random(rng, size(n, c, h, w)), r = random(rng, size(n, c, h, w));
        Tensor x = slice(b, F64, 1, 0, 0, n, c, h, w);
        b.upload(xh, x);
        Tensor y = slice(b, F64, 0, 1, Double.NaN, n, c, h, w), mask = b.allocate(F64, n, c, h, w);
        Tensor dy = tensor(b, F64, r, n, c, h, w), dx = slice(b, F64, 2, 2, 0, n, c, h, w);
        b.dropoutForward(x, y, mask, 0.3, 99);
        double[] gx = accumulated(dx, () -> b.dropoutBackward(dy, mask, dx, true));
        assertGradient("dropout dx", xh, gx, xv -> {
            b.upload(xv, x);
            b.dropoutForward(x, y, mask, 0.3, 99);
            return dot(values(b, y), r);
        }, 100, TOL);
    }

    @Test
    void reluGradientMatchesFiniteDifferences() {
        int n = 2, c = 3, h = 4, w = 4;
        double[] xh = random(rng, size(n, c, h, w)), r = random(rng, size(n, c, h, w));
        Tensor x = slice(b, F64, 1, 1, 0, n, c, h, w);
        b.upload(xh, x);
        Tensor y = slice(b, F64, 0, 1, Double.NaN, n, c, h, w), dy = tensor(b, F64, r, n, c, h, w);
        Tensor dx = slice(b, F64, 1, 0, 0, n, c, h, w);
        b.relu(x, y);
        double[] gx = accumulated(dx, () -> b.reluBackward(y, dy, dx, true));
        assertGradient("relu dx", xh, gx, xv -> {
            b.upload(xv, x);
            b.relu(x, y);
            return dot(values(b, y), r);
        }, 100, TOL);
    }
}
