package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.OpTesting.positive;
import static org.densenet.engine.cpu.OpTesting.random;
import static org.densenet.engine.cpu.OpTesting.size;
import static org.densenet.engine.cpu.OpTesting.slice;
import static org.densenet.engine.cpu.OpTesting.values;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.Pool2d;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;

/**
 * Runs every op forward and backward on fixed seeded inputs (channel slices, sizes that span
 * several GEMM blocks) and returns each result by name, so runs in different dtypes or with
 * different thread counts can be compared.
 */
final class OpSuite {
    private OpSuite() {
    }

    static Map<String, double[]> run(CpuBackend b, DType dt) {
        Random rng = new Random(77);
        Map<String, double[]> out = new LinkedHashMap<>();
        // sizes span several GEMM blocks: P*Q > NC, C > KC, taps * C > NC
        conv(b, dt, rng, out, "conv1x1", 3, 150, 24, 20, 1, 1, 0);
        conv(b, dt, rng, out, "conv3x3", 3, 60, 17, 12, 3, 1, 1);
        conv(b, dt, rng, out, "conv7x7s2", 2, 3, 20, 8, 7, 2, 3);
        // fewer samples than threads: output rows are shared out as well
        conv(b, dt, rng, out, "conv3x3n1", 1, 5, 9, 6, 3, 1, 1);
        conv(b, dt, rng, out, "conv1x1n1", 1, 7, 9, 4, 1, 1, 0);

        int n = 3, c = 30, h = 9;
        Tensor x = input(b, dt, rng, n, c, h, h), dy = input(b, dt, rng, n, c, h, h);
        Tensor gamma = vector(b, dt, positive(rng, c, 0.5, 1.5)), beta = vector(b, dt, random(rng, c));
        Tensor mean = b.allocate(dt, c), var = b.allocate(dt, c), dg = b.allocate(dt, c), db = b.allocate(dt, c);
        Tensor y = output(b, dt, n, c, h, h), dx = output(b, dt, n, c, h, h);
        b.batchNormStatistics(x, mean, var);
        b.batchNormApply(x, mean, var, gamma, beta, 1e-5, true, y);
        b.batchNormBackward(x, dy, mean, var, gamma, beta, 1e-5, true, dx, false, dg, db);
        Tensor rm = vector(b, dt, random(rng, c)), rv = vector(b, dt, positive(rng, c, 0.5, 1));
        b.batchNormUpdateRunning(mean, var, (long) n * h * h, 0.1, rm, rv);
        put(b, out, "bn", mean, var, y, dx, dg, db, rm, rv);

        Pool2d max = new Pool2d(3, 2, 1), avg = new Pool2d(2, 2, 0);
        int p = max.outSize(h);
        Tensor pdy = input(b, dt, rng, n, c, p, p), py = output(b, dt, n, c, p, p), pdx = output(b, dt, n, c, h, h);
        b.maxPoolForward(x, py, max);
        b.maxPoolBackward(x, py, pdy, pdx, max, false);
        put(b, out, "maxpool", py, pdx);
        int a = avg.outSize(h);
        Tensor ady = input(b, dt, rng, n, c, a, a), ay = output(b, dt, n, c, a, a);
        b.avgPoolForward(x, ay, avg);
        b.avgPoolBackward(ady, pdx, avg, false);
        put(b, out, "avgpool", ay, pdx);
        Tensor gy = b.allocate(dt, n, c), gdy = vector(b, dt, random(rng, n * c)).reshape(n, c);
        b.globalAvgPoolForward(x, gy);
        b.globalAvgPoolBackward(gdy, pdx, false);
        put(b, out, "gap", gy, pdx);
        b.relu(x, y);
        b.reluBackward(y, dy, dx, false);
        put(b, out, "relu", y, dx);
        Tensor mask = b.allocate(dt, n, c, h, h);
        b.dropoutForward(x, y, mask, 0.2, 5);
        b.dropoutBackward(dy, mask, dx, false);
        put(b, out, "dropout", y, mask, dx);

        int rows = 20, f = 40, o = 10;
        Tensor lx = vector(b, dt, random(rng, rows * f)).reshape(rows, f), lw = vector(b, dt, random(rng, o * f)).reshape(o, f);
        Tensor lb = vector(b, dt, random(rng, o)), ly = b.allocate(dt, rows, o), ldy = vector(b, dt, random(rng, rows * o)).reshape(rows, o);
        Tensor ldx = b.allocate(dt, rows, f), ldw = b.allocate(dt, o, f), ldb = b.allocate(dt, o);
        b.linearForward(lx, lw, lb, ly);
        b.linearBackward(lx, lw, ldy, ldx, ldw, ldb);
        put(b, out, "linear", ly, ldx, ldw, ldb);
        Tensor labels = b.allocate(DType.I32, rows);
        int[] lab = new int[rows];
        for (int i = 0; i < rows; i++) lab[i] = rng.nextInt(o);
        b.upload(lab, labels);
        Tensor dl = b.allocate(dt, rows, o);
        LossResult loss = b.softmaxCrossEntropy(ly, labels, dl);
        out.put("ce.loss", new double[] {loss.loss(), loss.top1Correct(), loss.top5Correct()});
        put(b, out, "ce", dl);

        int np = 5000;
        Tensor params = vector(b, dt, random(rng, np)), grads = vector(b, dt, random(rng, np)), buf = vector(b, dt, random(rng, np));
        b.sgdStep(params, grads, buf, new SgdParams(0.1, 0.9, 1e-4, true));
        put(b, out, "sgd", params, buf);
        return out;
    }

    private static void conv(CpuBackend b, DType dt, Random rng, Map<String, double[]> out, String name,
                             int n, int c, int in, int k, int kernel, int stride, int pad) {
        Conv2d conv = new Conv2d(stride, pad);
        int p = conv.outSize(in, kernel);
        Tensor x = input(b, dt, rng, n, c, in, in), dy = input(b, dt, rng, n, k, p, p);
        // filters are views into flat parameter buffers, at an offset, as the model keeps them
        int ws = size(k, c, kernel, kernel);
        Tensor w = b.allocate(dt, ws + 5).narrow(0, 5, ws).reshape(k, c, kernel, kernel);
        b.upload(random(rng, ws), w);
        Tensor dw = b.allocate(dt, ws + 3).narrow(0, 3, ws).reshape(k, c, kernel, kernel);
        Tensor y = output(b, dt, n, k, p, p), dx = output(b, dt, n, c, in, in);
        b.convForward(x, w, y, conv, false);
        b.convBackwardData(dy, w, dx, conv, false);
        b.convBackwardFilter(x, dy, dw, conv, false);
        put(b, out, name, y, dx, dw);
    }

    private static Tensor input(CpuBackend b, DType dt, Random rng, int... shape) {
        Tensor t = slice(b, dt, 1, 1, 3, shape);
        b.upload(random(rng, size(shape)), t);
        return t;
    }

    private static Tensor output(CpuBackend b, DType dt, int... shape) {
        return slice(b, dt, 1, 2, Double.NaN, shape);
    }

    private static Tensor vector(CpuBackend b, DType dt, double[] v) {
        Tensor t = b.allocate(dt, v.length);
        b.upload(v, t);
        return t;
    }

    private static void put(CpuBackend b, Map<String, double[]> out, String name, Tensor... ts) {
        for (int i = 0; i < ts.length; i++) out.put(name + "." + i, values(b, ts[i]));
    }
}
