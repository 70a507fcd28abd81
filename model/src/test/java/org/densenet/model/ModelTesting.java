package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.Tensor;
import org.densenet.engine.io.HostTensor;

/** Helpers shared by the model tests: random batches, one training step, tolerant comparisons. */
final class ModelTesting {
    private ModelTesting() {
    }

    /** A tiny DenseNet-BC on CIFAR-sized maps: two blocks, bottleneck, compression. */
    static DenseNetConfig tinyBc() {
        return new DenseNetConfig(new int[]{2, 3}, 4, 4, 0.5, 0.0, Stem.CIFAR, 8, 5, 3);
    }

    /** Plain layers (no bottleneck), no compression, dropout. */
    static DenseNetConfig tinyPlainWithDropout() {
        return new DenseNetConfig(new int[]{3, 2}, 3, 0, 1.0, 0.25, Stem.CIFAR, 6, 4, 3);
    }

    /** ImageNet stem (conv 7x7/2, norm0, max pool), bottleneck, dropout. */
    static DenseNetConfig tinyImagenet() {
        return new DenseNetConfig(new int[]{2, 2}, 4, 4, 0.5, 0.2, Stem.IMAGENET, 8, 6, 3);
    }

    static Tensor randomImages(Backend backend, DType dtype, long seed, int... shape) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] v = new double[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) rng.nextGaussian();
        Tensor t = backend.allocate(dtype, shape);
        upload(backend, v, t);
        return t;
    }

    static Tensor randomLabels(Backend backend, long seed, int n, int classes) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] v = new int[n];
        for (int i = 0; i < n; i++) v[i] = rng.nextInt(classes);
        Tensor t = backend.allocate(DType.I32, n);
        backend.upload(v, t);
        return t;
    }

    static void upload(Backend backend, double[] v, Tensor t) {
        if (t.dtype() == DType.F64) {
            backend.upload(v, t);
        } else {
            float[] f = new float[v.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) v[i];
            backend.upload(f, t);
        }
    }

    static double[] download(Tensor t) {
        double[] out = new double[(int) t.numel()];
        if (t.dtype() == DType.F64) {
            t.backend().download(t, out);
        } else {
            float[] f = new float[out.length];
            t.backend().download(t, f);
            for (int i = 0; i < f.length; i++) out[i] = f[i];
        }
        return out;
    }

    /** Loss and logits of a training step. */
    record Step(double loss, double[] logits) {
    }

    /** Forward, loss and backward of one training step (no update). dLogits is the caller's buffer. */
    static Step trainStep(DenseNet net, Tensor images, Tensor labels, Tensor dLogits) {
        Tensor logits = net.forward(images, true);
        LossResult r = net.backend().softmaxCrossEntropy(logits, labels, dLogits);
        net.backward(dLogits);
        return new Step(r.loss(), download(logits));
    }

    /** max |a - b| over max |b|, asserted below tol; what names the compared quantity. */
    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 1e-30, diff = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Double.isFinite(actual[i]), what + ": element " + i + " is " + actual[i]);
            scale = Math.max(scale, Math.abs(expected[i]));
            double d = Math.abs(expected[i] - actual[i]);
            if (d > diff) {
                diff = d;
                worst = i;
            }
        }
        assertTrue(diff <= tol * scale, what + ": relative error " + diff / scale + " > " + tol + " at element " + worst
                + " (expected " + (worst >= 0 ? expected[worst] : 0) + ", got " + (worst >= 0 ? actual[worst] : 0) + ")");
    }

    /** Every tensor of two state dicts, same keys in the same order, relative error <= tol (integers exactly). */
    static void assertStatesClose(Map<String, HostTensor> expected, Map<String, HostTensor> actual, double tol) {
        assertArrayEquals(expected.keySet().toArray(), actual.keySet().toArray(), "state dict keys");
        for (var e : expected.entrySet()) {
            HostTensor a = actual.get(e.getKey());
            assertArrayEquals(e.getValue().shape(), a.shape(), e.getKey());
            if (e.getValue().dtype().isFloating()) {
                assertClose(e.getValue().toDoubleArray(), a.toDoubleArray(), tol, e.getKey());
            } else {
                assertArrayEquals(e.getValue().toLongArray(), a.toLongArray(), e.getKey());
            }
        }
    }
}
