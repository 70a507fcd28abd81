package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.OpTesting.assertClose;
import static org.densenet.engine.cpu.OpTesting.slice;
import static org.densenet.engine.cpu.OpTesting.values;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.Pool2d;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every op against PyTorch 1.13 in float64 (ops/ops.safetensors, written by
 * scripts/fixtures/make_op_fixtures.py): outputs and gradients within 1e-10 relative in
 * float64, 1e-5 in float32. Activations are channel slices, so the layout is covered too.
 */
class CpuTorchFixtureTest {
    private static Map<String, HostTensor> ref;
    private static Map<String, String> meta;
    private final CpuBackend b = new CpuBackend(2);

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        SafeTensors.Contents c = SafeTensors.load(Path.of(CpuTorchFixtureTest.class.getResource("/ops/ops.safetensors").toURI()));
        ref = c.tensors();
        meta = c.metadata();
    }

    @AfterEach
    void close() {
        b.close();
    }

    private static double tol(DType dt) {
        return dt == DType.F64 ? 1e-10 : 1e-5;
    }

    private static int setting(String key) {
        return (int) Double.parseDouble(meta.get(key));
    }

    private static double real(String key) {
        return Double.parseDouble(meta.get(key));
    }

    private HostTensor host(String name) {
        HostTensor h = ref.get(name);
        if (h == null) throw new IllegalStateException("fixture has no tensor " + name);
        return h;
    }

    /** A fixture tensor uploaded into a fresh contiguous tensor. */
    private Tensor in(DType dt, String name) {
        HostTensor h = host(name);
        Tensor t = b.allocate(dt, h.shape());
        b.upload(h.toDoubleArray(), t);
        return t;
    }

    /** A fixture activation uploaded into channels [1, 1 + C) of a wider storage. */
    private Tensor inSlice(DType dt, String name) {
        Tensor t = slice(b, dt, 1, 2, 7, host(name).shape());
        b.upload(host(name).toDoubleArray(), t);
        return t;
    }

    private Tensor outSlice(DType dt, String like) {
        return slice(b, dt, 2, 1, Double.NaN, host(like).shape());
    }

    private void check(DType dt, String name, Tensor actual) {
        assertClose(name + " " + dt, host(name).toDoubleArray(), values(b, actual), tol(dt));
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"conv7x7s2,F64", "conv7x7s2,F32", "conv3x3,F64", "conv3x3,F32", "conv1x1,F64", "conv1x1,F32",
            "conv3x3s2,F64", "conv3x3s2,F32"})
    void convolutionMatchesPyTorch(String c, DType dt) {
        Conv2d conv = new Conv2d(setting(c + ".stride"), setting(c + ".pad"));
        Tensor x = inSlice(dt, c + ".x"), w = in(dt, c + ".w"), dy = inSlice(dt, c + ".dy");
        Tensor y = outSlice(dt, c + ".y"), dx = outSlice(dt, c + ".x"), dw = b.allocate(dt, host(c + ".w").shape());
        b.convForward(x, w, y, conv, false);
        b.convBackwardData(dy, w, dx, conv, false);
        b.convBackwardFilter(x, dy, dw, conv, false);
        check(dt, c + ".y", y);
        check(dt, c + ".dx", dx);
        check(dt, c + ".dw", dw);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"bn,F64", "bn,F32", "bnrelu,F64", "bnrelu,F32"})
    void trainingBatchNormMatchesPyTorch(String c, DType dt) {
        boolean relu = setting(c + ".relu") == 1;
        double eps = real(c + ".eps");
        Tensor x = inSlice(dt, c + ".x"), dy = inSlice(dt, c + ".dy"), gamma = in(dt, c + ".gamma"), beta = in(dt, c + ".beta");
        Tensor rm = in(dt, c + ".running_mean_before"), rv = in(dt, c + ".running_var_before");
        int ch = x.dim(1);
        Tensor mean = b.allocate(dt, ch), var = b.allocate(dt, ch), dgamma = b.allocate(dt, ch), dbeta = b.allocate(dt, ch);
        Tensor y = outSlice(dt, c + ".x"), dx = outSlice(dt, c + ".x");
        b.batchNormStatistics(x, mean, var);
        b.batchNormUpdateRunning(mean, var, (long) x.dim(0) * x.dim(2) * x.dim(3), real(c + ".momentum"), rm, rv);
        b.batchNormApply(x, mean, var, gamma, beta, eps, relu, y);
        b.batchNormBackward(x, dy, mean, var, gamma, beta, eps, relu, dx, false, dgamma, dbeta);
        check(dt, c + ".mean", mean);
        check(dt, c + ".var", var);
        check(dt, c + ".running_mean", rm);
        check(dt, c + ".running_var", rv);
        check(dt, c + ".y", y);
        check(dt, c + ".dx", dx);
        check(dt, c + ".dgamma", dgamma);
        check(dt, c + ".dbeta", dbeta);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"maxpool,F64", "maxpool,F32", "avgpool,F64", "avgpool,F32"})
    void poolingMatchesPyTorch(String c, DType dt) {
        Pool2d pool = new Pool2d(setting(c + ".kernel"), setting(c + ".stride"), setting(c + ".pad"));
        Tensor x = inSlice(dt, c + ".x"), dy = inSlice(dt, c + ".dy"), y = outSlice(dt, c + ".y"), dx = outSlice(dt, c + ".x");
        if (c.equals("maxpool")) {
            b.maxPoolForward(x, y, pool);
            b.maxPoolBackward(x, y, dy, dx, pool, false);
        } else {
            b.avgPoolForward(x, y, pool);
            b.avgPoolBackward(dy, dx, pool, false);
        }
        check(dt, c + ".y", y);
        check(dt, c + ".dx", dx);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F64", "F32"})
    void globalAveragePoolMatchesPyTorch(DType dt) {
        Tensor x = inSlice(dt, "gap.x"), y = b.allocate(dt, host("gap.y").shape()), dy = in(dt, "gap.dy"), dx = outSlice(dt, "gap.x");
        b.globalAvgPoolForward(x, y);
        b.globalAvgPoolBackward(dy, dx, false);
        check(dt, "gap.y", y);
        check(dt, "gap.dx", dx);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F64", "F32"})
    void linearMatchesPyTorch(DType dt) {
        Tensor x = in(dt, "linear.x"), w = in(dt, "linear.w"), bias = in(dt, "linear.b"), dy = in(dt, "linear.dy");
        Tensor y = b.allocate(dt, host("linear.y").shape()), dx = b.allocate(dt, x.shape()), dw = b.allocate(dt, w.shape()),
                db = b.allocate(dt, bias.shape());
        b.linearForward(x, w, bias, y);
        b.linearBackward(x, w, dy, dx, dw, db);
        check(dt, "linear.y", y);
        check(dt, "linear.dx", dx);
        check(dt, "linear.dw", dw);
        check(dt, "linear.db", db);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F64", "F32"})
    void crossEntropyMatchesPyTorch(DType dt) {
        Tensor logits = in(dt, "ce.logits"), dl = b.allocate(dt, logits.shape());
        Tensor labels = b.allocate(DType.I32, host("ce.labels").shape());
        b.upload(host("ce.labels").toIntArray(), labels);
        LossResult r = b.softmaxCrossEntropy(logits, labels, dl);
        double expected = host("ce.loss").toDoubleArray()[0];
        assertEquals(expected, r.loss(), tol(dt) * Math.abs(expected), "loss " + dt);
        check(dt, "ce.dlogits", dl);
        assertEquals(6, r.count());
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F64", "F32"})
    void nesterovSgdMatchesTorchOptimSgd(DType dt) {
        SgdParams sgd = new SgdParams(real("sgd.lr"), real("sgd.momentum"), real("sgd.weight_decay"), true);
        Tensor p = in(dt, "sgd.params_before"), g = b.allocate(dt, p.shape()), buf = b.allocate(dt, p.shape());
        b.fill(buf, 0);
        double[] grads = host("sgd.grads").toDoubleArray(), after = host("sgd.params_after").toDoubleArray();
        int n = (int) p.numel();
        for (int step = 0; step < host("sgd.grads").shape()[0]; step++) {
            double[] gs = new double[n], expected = new double[n];
            System.arraycopy(grads, step * n, gs, 0, n);
            System.arraycopy(after, step * n, expected, 0, n);
            b.upload(gs, g);
            b.sgdStep(p, g, buf, sgd);
            assertClose("params after step " + (step + 1) + " " + dt, expected, values(b, p), tol(dt));
        }
    }
}
