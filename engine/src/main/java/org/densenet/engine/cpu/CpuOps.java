package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.Checks.activation;
import static org.densenet.engine.cpu.Checks.contiguous;
import static org.densenet.engine.cpu.Checks.fail;
import static org.densenet.engine.cpu.Checks.floating;
import static org.densenet.engine.cpu.Checks.sameShape;
import static org.densenet.engine.cpu.Checks.shape;
import static org.densenet.engine.cpu.CpuBackend.f32;
import static org.densenet.engine.cpu.CpuBackend.f64;
import static org.densenet.engine.cpu.CpuBackend.i32;

import java.util.Arrays;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Tensor;

/**
 * Argument checks and float32/float64 dispatch of convolution, batch norm, pooling, linear
 * and loss. Kernel families: ConvF32 (conv*), NormF32 (batchNorm*), PoolF32 (*Pool*),
 * DenseF32 (linear*, softmaxCrossEntropy); their F64 twins are generated. Ops that use the
 * per-thread scratch buffers hold this object's lock, so calls from two threads cannot share them.
 */
final class CpuOps {
    private final CpuBackend b;

    CpuOps(CpuBackend backend) {
        this.b = backend;
    }

    private static int off(Tensor t) {
        return Math.toIntExact(t.offset());
    }

    private static int ns(Tensor t) {
        return Math.toIntExact(t.stride(0));
    }

    private static boolean single(Tensor t) {
        return t.dtype() == DType.F32;
    }

    // ---- convolution --------------------------------------------------------------------

    private ConvF32.Geometry conv(String op, Tensor x, Tensor w, Tensor y, Conv2d conv) {
        b.own(op, x, w, y);
        floating(op, x, w, y);
        activation(op, "x", x);
        activation(op, "y", y);
        if (w.rank() != 4) throw fail(op, "filter must be 4-D [K, C, R, S], got " + Arrays.toString(w.shape()));
        contiguous(op, "filter", w);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), k = w.dim(0), r = w.dim(2), s = w.dim(3);
        if (w.dim(1) != c) throw fail(op, "x " + Arrays.toString(x.shape()) + " has " + c + " channels, filter " + Arrays.toString(w.shape()) + " expects " + w.dim(1));
        int p = conv.outSize(h, r), q = conv.outSize(wd, s);
        int[] expected = {n, k, p, q};
        if (!Arrays.equals(y.shape(), expected)) {
            throw fail(op, "x " + Arrays.toString(x.shape()) + " with filter " + Arrays.toString(w.shape()) + " and " + conv
                    + " gives " + Arrays.toString(expected) + ", but y is " + Arrays.toString(y.shape()));
        }
        return new ConvF32.Geometry(n, c, h, wd, k, r, s, p, q, conv.stride(), conv.pad());
    }

    synchronized void convForward(Tensor x, Tensor w, Tensor y, Conv2d conv, boolean accumulate) {
        ConvF32.Geometry g = conv("convForward", x, w, y, conv);
        if (single(x)) {
            ConvF32.forward(b.par(), b.scratch(), g, f32(x), off(x), ns(x), f32(w), off(w), f32(y), off(y), ns(y), accumulate);
        } else {
            ConvF64.forward(b.par(), b.scratch(), geometry64(g), f64(x), off(x), ns(x), f64(w), off(w), f64(y), off(y), ns(y), accumulate);
        }
    }

    synchronized void convBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2d conv, boolean accumulate) {
        ConvF32.Geometry g = conv("convBackwardData", dx, w, dy, conv);
        if (single(dy)) {
            ConvF32.backwardData(b.par(), b.scratch(), g, f32(dy), off(dy), ns(dy), f32(w), off(w), f32(dx), off(dx), ns(dx), accumulate);
        } else {
            ConvF64.backwardData(b.par(), b.scratch(), geometry64(g), f64(dy), off(dy), ns(dy), f64(w), off(w), f64(dx), off(dx), ns(dx), accumulate);
        }
    }

    synchronized void convBackwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2d conv, boolean accumulate) {
        ConvF32.Geometry g = conv("convBackwardFilter", x, dw, dy, conv);
        if (single(x)) {
            ConvF32.backwardFilter(b.par(), b.scratch(), g, f32(x), off(x), ns(x), f32(dy), off(dy), ns(dy), f32(dw), off(dw), accumulate);
        } else {
            ConvF64.backwardFilter(b.par(), b.scratch(), geometry64(g), f64(x), off(x), ns(x), f64(dy), off(dy), ns(dy), f64(dw), off(dw), accumulate);
        }
    }

    private static ConvF64.Geometry geometry64(ConvF32.Geometry g) {
        return new ConvF64.Geometry(g.n(), g.c(), g.h(), g.w(), g.k(), g.r(), g.s(), g.p(), g.q(), g.stride(), g.pad());
    }

    // ---- batch normalisation ------------------------------------------------------------

    private static void channelVector(String op, String name, Tensor t, int c) {
        if (t.rank() != 1 || t.dim(0) != c) throw fail(op, name + " must be [" + c + "], got " + Arrays.toString(t.shape()));
        contiguous(op, name, t);
    }

    synchronized void batchNormStatistics(Tensor x, Tensor mean, Tensor var) {
        String op = "batchNormStatistics";
        b.own(op, x, mean, var);
        floating(op, x, mean, var);
        activation(op, "x", x);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        channelVector(op, "mean", mean, c);
        channelVector(op, "var", var, c);
        if (single(x)) NormF32.statistics(b.par(), b.scratch(), n, c, hw, f32(x), off(x), ns(x), f32(mean), off(mean), f32(var), off(var));
        else NormF64.statistics(b.par(), b.scratch(), n, c, hw, f64(x), off(x), ns(x), f64(mean), off(mean), f64(var), off(var));
    }

    void batchNormUpdateRunning(Tensor mean, Tensor var, long count, double momentum, Tensor runningMean, Tensor runningVar) {
        String op = "batchNormUpdateRunning";
        b.own(op, mean, var, runningMean, runningVar);
        floating(op, mean, var, runningMean, runningVar);
        int c = mean.dim(0);
        for (Tensor t : new Tensor[] {mean, var, runningMean, runningVar}) channelVector(op, "statistics vector", t, c);
        if (count < 1) throw fail(op, "sample count must be >= 1, got " + count);
        if (!(momentum >= 0 && momentum <= 1)) throw fail(op, "momentum must be in [0, 1], got " + momentum);
        if (single(mean)) {
            NormF32.updateRunning(c, f32(mean), off(mean), f32(var), off(var), count, momentum, f32(runningMean), off(runningMean),
                    f32(runningVar), off(runningVar));
        } else {
            NormF64.updateRunning(c, f64(mean), off(mean), f64(var), off(var), count, momentum, f64(runningMean), off(runningMean),
                    f64(runningVar), off(runningVar));
        }
    }

    /** Checks x and the four per-channel vectors; returns the scale and shift of y = x * scale + shift. */
    private double[][] normParams(String op, Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps) {
        activation(op, "x", x);
        int c = x.dim(1);
        channelVector(op, "mean", mean, c);
        channelVector(op, "var", var, c);
        channelVector(op, "gamma", gamma, c);
        channelVector(op, "beta", beta, c);
        if (!(eps > 0)) throw fail(op, "eps must be > 0, got " + eps);
        double[] scale = new double[c], shift = new double[c];
        if (single(x)) {
            NormF32.scaleShift(c, f32(mean), off(mean), f32(var), off(var), f32(gamma), off(gamma), f32(beta), off(beta), eps, scale, shift);
        } else {
            NormF64.scaleShift(c, f64(mean), off(mean), f64(var), off(var), f64(gamma), off(gamma), f64(beta), off(beta), eps, scale, shift);
        }
        return new double[][] {scale, shift};
    }

    void batchNormApply(Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu, Tensor y) {
        String op = "batchNormApply";
        b.own(op, x, mean, var, gamma, beta, y);
        floating(op, x, mean, var, gamma, beta, y);
        activation(op, "y", y);
        sameShape(op, "x", x, "y", y);
        double[][] ss = normParams(op, x, mean, var, gamma, beta, eps);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        if (single(x)) NormF32.apply(b.par(), n, c, hw, f32(x), off(x), ns(x), ss[0], ss[1], relu, f32(y), off(y), ns(y));
        else NormF64.apply(b.par(), n, c, hw, f64(x), off(x), ns(x), ss[0], ss[1], relu, f64(y), off(y), ns(y));
    }

    synchronized void batchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu,
                           Tensor dx, boolean accumulateDx, Tensor dgamma, Tensor dbeta) {
        String op = "batchNormBackward";
        b.own(op, x, dy, mean, var, gamma, beta, dx, dgamma, dbeta);
        floating(op, x, dy, mean, var, gamma, beta, dx, dgamma, dbeta);
        activation(op, "dy", dy);
        activation(op, "dx", dx);
        sameShape(op, "x", x, "dy", dy);
        sameShape(op, "x", x, "dx", dx);
        double[][] ss = normParams(op, x, mean, var, gamma, beta, eps);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        channelVector(op, "dgamma", dgamma, c);
        channelVector(op, "dbeta", dbeta, c);
        if (single(x)) {
            NormF32.backward(b.par(), b.scratch(), n, c, hw, f32(x), off(x), ns(x), f32(dy), off(dy), ns(dy), f32(mean), off(mean), f32(var), off(var),
                    eps, ss[0], ss[1], relu, f32(dx), off(dx), ns(dx), accumulateDx, f32(dgamma), off(dgamma), f32(dbeta), off(dbeta));
        } else {
            NormF64.backward(b.par(), b.scratch(), n, c, hw, f64(x), off(x), ns(x), f64(dy), off(dy), ns(dy), f64(mean), off(mean), f64(var), off(var),
                    eps, ss[0], ss[1], relu, f64(dx), off(dx), ns(dx), accumulateDx, f64(dgamma), off(dgamma), f64(dbeta), off(dbeta));
        }
    }

    // ---- pooling ------------------------------------------------------------------------

    private PoolF32.Geometry pool(String op, Tensor x, Tensor y, Pool2d pool) {
        b.own(op, x, y);
        floating(op, x, y);
        activation(op, "x", x);
        activation(op, "y", y);
        int p = pool.outSize(x.dim(2)), q = pool.outSize(x.dim(3));
        int[] expected = {x.dim(0), x.dim(1), p, q};
        if (!Arrays.equals(y.shape(), expected)) {
            throw fail(op, "x " + Arrays.toString(x.shape()) + " pooled by " + pool + " gives " + Arrays.toString(expected)
                    + ", but the output is " + Arrays.toString(y.shape()));
        }
        return new PoolF32.Geometry(x.dim(0), x.dim(1), x.dim(2), x.dim(3), p, q, pool.kernel(), pool.stride(), pool.pad());
    }

    private static PoolF64.Geometry pool64(PoolF32.Geometry g) {
        return new PoolF64.Geometry(g.n(), g.c(), g.h(), g.w(), g.p(), g.q(), g.kernel(), g.stride(), g.pad());
    }

    void avgPoolForward(Tensor x, Tensor y, Pool2d pool) {
        PoolF32.Geometry g = pool("avgPoolForward", x, y, pool);
        if (single(x)) PoolF32.avgForward(b.par(), g, f32(x), off(x), ns(x), f32(y), off(y), ns(y));
        else PoolF64.avgForward(b.par(), pool64(g), f64(x), off(x), ns(x), f64(y), off(y), ns(y));
    }

    void avgPoolBackward(Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        PoolF32.Geometry g = pool("avgPoolBackward", dx, dy, pool);
        if (single(dy)) PoolF32.avgBackward(b.par(), g, f32(dy), off(dy), ns(dy), f32(dx), off(dx), ns(dx), accumulate);
        else PoolF64.avgBackward(b.par(), pool64(g), f64(dy), off(dy), ns(dy), f64(dx), off(dx), ns(dx), accumulate);
    }

    void maxPoolForward(Tensor x, Tensor y, Pool2d pool) {
        PoolF32.Geometry g = pool("maxPoolForward", x, y, pool);
        if (single(x)) PoolF32.maxForward(b.par(), g, f32(x), off(x), ns(x), f32(y), off(y), ns(y));
        else PoolF64.maxForward(b.par(), pool64(g), f64(x), off(x), ns(x), f64(y), off(y), ns(y));
    }

    void maxPoolBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        String op = "maxPoolBackward";
        PoolF32.Geometry g = pool(op, x, dy, pool);
        b.own(op, y, dx);
        floating(op, x, y, dy, dx);
        sameShape(op, "y", y, "dy", dy);
        sameShape(op, "x", x, "dx", dx);
        activation(op, "dx", dx);
        if (single(x)) PoolF32.maxBackward(b.par(), g, f32(x), off(x), ns(x), f32(dy), off(dy), ns(dy), f32(dx), off(dx), ns(dx), accumulate);
        else PoolF64.maxBackward(b.par(), pool64(g), f64(x), off(x), ns(x), f64(dy), off(dy), ns(dy), f64(dx), off(dx), ns(dx), accumulate);
    }

    private void globalPool(String op, Tensor x, Tensor y) {
        b.own(op, x, y);
        floating(op, x, y);
        activation(op, "x", x);
        shape(op, "pooled", y, x.dim(0), x.dim(1));
        contiguous(op, "pooled", y);
    }

    void globalAvgPoolForward(Tensor x, Tensor y) {
        globalPool("globalAvgPoolForward", x, y);
        int n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
        if (single(x)) PoolF32.globalAvgForward(b.par(), n, c, hw, f32(x), off(x), ns(x), f32(y), off(y));
        else PoolF64.globalAvgForward(b.par(), n, c, hw, f64(x), off(x), ns(x), f64(y), off(y));
    }

    void globalAvgPoolBackward(Tensor dy, Tensor dx, boolean accumulate) {
        globalPool("globalAvgPoolBackward", dx, dy);
        int n = dx.dim(0), c = dx.dim(1), hw = dx.dim(2) * dx.dim(3);
        if (single(dx)) PoolF32.globalAvgBackward(b.par(), n, c, hw, f32(dy), off(dy), f32(dx), off(dx), ns(dx), accumulate);
        else PoolF64.globalAvgBackward(b.par(), n, c, hw, f64(dy), off(dy), f64(dx), off(dx), ns(dx), accumulate);
    }

    // ---- fully connected and loss -------------------------------------------------------

    private static void matrix(String op, String name, Tensor t, int rows, int cols) {
        shape(op, name, t, rows, cols);
        contiguous(op, name, t);
    }

    private void linear(String op, Tensor x, Tensor w, Tensor bias, Tensor y) {
        b.own(op, x, w, bias, y);
        floating(op, x, w, bias, y);
        if (x.rank() != 2 || w.rank() != 2) {
            throw fail(op, "x [N, F] and w [O, F] must be 2-D, got " + Arrays.toString(x.shape()) + " and " + Arrays.toString(w.shape()));
        }
        int n = x.dim(0), f = x.dim(1), o = w.dim(0);
        matrix(op, "x", x, n, f);
        matrix(op, "w", w, o, f);
        shape(op, "bias", bias, o);
        contiguous(op, "bias", bias);
        matrix(op, "output", y, n, o);
    }

    synchronized void linearForward(Tensor x, Tensor w, Tensor bias, Tensor y) {
        linear("linearForward", x, w, bias, y);
        int n = x.dim(0), f = x.dim(1), o = w.dim(0);
        if (single(x)) DenseF32.linearForward(b.par(), b.scratch(), n, f, o, f32(x), off(x), f32(w), off(w), f32(bias), off(bias), f32(y), off(y));
        else DenseF64.linearForward(b.par(), b.scratch(), n, f, o, f64(x), off(x), f64(w), off(w), f64(bias), off(bias), f64(y), off(y));
    }

    synchronized void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        String op = "linearBackward";
        linear(op, x, w, db, dy);
        int n = x.dim(0), f = x.dim(1), o = w.dim(0);
        b.own(op, dx, dw);
        floating(op, x, dx, dw);
        if (dx != null) matrix(op, "dx", dx, n, f);
        matrix(op, "dw", dw, o, f);
        if (single(x)) {
            DenseF32.linearBackward(b.par(), b.scratch(), n, f, o, f32(x), off(x), f32(w), off(w), f32(dy), off(dy),
                    dx == null ? null : f32(dx), dx == null ? 0 : off(dx), f32(dw), off(dw), f32(db), off(db));
        } else {
            DenseF64.linearBackward(b.par(), b.scratch(), n, f, o, f64(x), off(x), f64(w), off(w), f64(dy), off(dy),
                    dx == null ? null : f64(dx), dx == null ? 0 : off(dx), f64(dw), off(dw), f64(db), off(db));
        }
    }

    LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits) {
        String op = "softmaxCrossEntropy";
        b.own(op, logits, labels, dlogits);
        floating(op, logits, dlogits);
        if (logits.rank() != 2) throw fail(op, "logits must be [N, K], got " + Arrays.toString(logits.shape()));
        int n = logits.dim(0), k = logits.dim(1);
        matrix(op, "logits", logits, n, k);
        if (labels.dtype() != DType.I32) throw fail(op, "labels must be I32, got " + labels.dtype());
        shape(op, "labels", labels, n);
        contiguous(op, "labels", labels);
        if (dlogits != null) matrix(op, "dlogits", dlogits, n, k);
        double[] r = single(logits)
                ? DenseF32.softmaxCrossEntropy(n, k, f32(logits), off(logits), i32(labels), off(labels),
                        dlogits == null ? null : f32(dlogits), dlogits == null ? 0 : off(dlogits))
                : DenseF64.softmaxCrossEntropy(n, k, f64(logits), off(logits), i32(labels), off(labels),
                        dlogits == null ? null : f64(dlogits), dlogits == null ? 0 : off(dlogits));
        return new LossResult(r[0], n, (int) r[1], (int) r[2]);
    }
}
