package org.densenet.tests.gpu;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Random;

import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.engine.cuda.CudaUnavailableException;
import org.densenet.engine.cuda.EmulatedGpu;
import org.junit.jupiter.api.Assumptions;

/**
 * What the GPU-vs-CPU tests share: one GPU backend per test class (the class is skipped, with the
 * reason, where none is usable), the CPU reference, tensors with equal contents on both
 * ({@link Twin}), and a comparison that also checks NaN sentinels: outputs are poisoned with NaN
 * before an op, and elements an op must not write have to stay NaN on both backends.
 */
final class GpuParity {
    private GpuParity() {
    }

    private static String unavailable;

    /**
     * GPU 0 with TF32 off, or null where none is usable ({@link #assumeGpu} then skips each test with
     * the reason); the emulated device instead when the build's gpu-emulated run asks for it.
     */
    static CudaBackend openGpu() {
        if (EmulatedGpu.requested()) return EmulatedGpu.open();
        try {
            return CudaBackend.open(0, false);
        } catch (CudaUnavailableException e) {
            unavailable = e.getMessage();
            return null;
        }
    }

    /** GPU 0 computing in {@code precision} (the emulated device in the gpu-emulated run), or null where none is usable. */
    static CudaBackend openGpu(org.densenet.engine.Precision precision) {
        if (EmulatedGpu.requested()) return EmulatedGpu.open(precision);
        try {
            return CudaBackend.open(0, precision, CudaBackend.graphsByDefault());
        } catch (CudaUnavailableException e) {
            unavailable = e.getMessage();
            return null;
        }
    }

    /** Skips the test, reporting why, when {@link #openGpu} found no usable GPU. */
    static void assumeGpu(CudaBackend gpu) {
        Assumptions.assumeTrue(gpu != null, () -> "no usable GPU: " + unavailable);
    }

    static CpuBackend openCpu() {
        return new CpuBackend(2);
    }

    /** One tensor on each backend, same shape and contents. */
    record Twin(Tensor cpu, Tensor gpu) implements AutoCloseable {
        static Twin random(Backend c, Backend g, Random rng, int... shape) {
            float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
            for (int i = 0; i < v.length; i++) v[i] = rng.nextFloat() * 2 - 1;
            return of(c, g, v, shape);
        }

        static Twin of(Backend c, Backend g, float[] values, int... shape) {
            Tensor tc = c.allocate(DType.F32, shape);
            Tensor tg = g.allocate(DType.F32, shape);
            c.upload(values, tc);
            g.upload(values, tg);
            return new Twin(tc, tg);
        }

        static Twin ints(Backend c, Backend g, int[] values, int... shape) {
            Tensor tc = c.allocate(DType.I32, shape);
            Tensor tg = g.allocate(DType.I32, shape);
            c.upload(values, tc);
            g.upload(values, tg);
            return new Twin(tc, tg);
        }

        /** Every element NaN, so anything an op leaves unwritten shows. */
        static Twin poisoned(Backend c, Backend g, int... shape) {
            Tensor tc = c.allocate(DType.F32, shape);
            Tensor tg = g.allocate(DType.F32, shape);
            c.fill(tc, Double.NaN);
            g.fill(tg, Double.NaN);
            return new Twin(tc, tg);
        }

        Twin channels(int start, int end) {
            return new Twin(cpu.channels(start, end), gpu.channels(start, end));
        }

        Twin view(long offset, int... shape) {
            long[] strides = Tensor.contiguousStrides(shape);
            return new Twin(cpu.view(offset, shape, strides), gpu.view(offset, shape, strides));
        }

        float[] cpuValues() {
            float[] v = new float[Math.toIntExact(cpu.numel())];
            cpu.backend().download(cpu, v);
            return v;
        }

        float[] gpuValues() {
            float[] v = new float[Math.toIntExact(gpu.numel())];
            gpu.backend().download(gpu, v);
            return v;
        }

        @Override
        public void close() {
            cpu.close();
            gpu.close();
        }
    }

    /** The GPU copy agrees with the CPU copy: {@link #assertClose(String, float[], float[], double)}. */
    static void assertClose(String what, Twin t, double rtol) {
        assertClose(what, t.cpuValues(), t.gpuValues(), rtol);
    }

    /** The GPU copy agrees with the CPU copy, with a floor of {@code floor} times the tensor's scale. */
    static void assertClose(String what, Twin t, double rtol, double floor) {
        assertClose(what, t.cpuValues(), t.gpuValues(), rtol, floor);
    }

    /** Elementwise results: the floor is a thousandth of the tensor's scale. */
    static void assertClose(String what, float[] expected, float[] actual, double rtol) {
        assertClose(what, expected, actual, rtol, 1e-3);
    }

    /**
     * Element by element, |actual - expected| <= rtol * (|expected| + floor * max|expected|): relative for
     * ordinary values, with a floor so that values that nearly cancel are judged against the tensor's
     * scale (sums in another order, or cuDNN's FFT and Winograd algorithms, err by a fraction of the
     * scale, not of the element). A NaN expected (an untouched sentinel) must be NaN in actual, and
     * nothing else may be.
     */
    static void assertClose(String what, float[] expected, float[] actual, double rtol, double floorFraction) {
        if (expected.length != actual.length) fail(what + ": " + expected.length + " vs " + actual.length + " elements");
        double scale = 0;
        for (float e : expected) if (Float.isFinite(e)) scale = Math.max(scale, Math.abs(e));
        double floor = Math.max(floorFraction * scale, Float.MIN_NORMAL);
        int worst = -1;
        double worstErr = 0;
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) != Float.isNaN(a)) {
                fail(what + ": element " + i + " is " + a + " on the GPU and " + e + " on the CPU"
                        + (Float.isNaN(e) ? " (a NaN sentinel the op must not write)" : " (left unwritten or computed as NaN)"));
            }
            if (Float.isNaN(e)) continue;
            double err = Math.abs((double) a - e) / (Math.abs(e) + floor);
            if (!(err <= worstErr)) {
                worstErr = err;
                worst = i;
            }
        }
        if (worstErr > rtol) {
            fail(String.format("%s: element %d is %s on the GPU and %s on the CPU: relative error %.3g > %.3g (scale %.4g)",
                    what, worst, actual[worst], expected[worst], worstErr, rtol, scale));
        }
    }

    static String shape(int... s) {
        return Arrays.toString(s);
    }
}
