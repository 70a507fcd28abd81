package org.densenet.tests.gpu;

import static org.densenet.tests.gpu.GpuParity.assertClose;

import java.util.Random;

import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.tests.gpu.GpuParity.Twin;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * cuDNN convolutions, batch normalisation and the cuBLAS linear layer against the CPU backend, with
 * TF32 off: sums of up to a few hundred float32 products in another order, so 1e-4 relative (with
 * the scale floor of {@link GpuParity#assertClose}). Activations are channel slices of wider
 * storages (the dense-block layout), filters and weights views at odd offsets of one flat buffer
 * (the parameter layout), outputs poisoned with NaN.
 */
@Tag("gpu")
class GpuConvNormLinearParityTest extends GpuParityTestBase {
    private static final double CONV_RTOL = 1e-4;
    /** Sums of products in another order (or by FFT/Winograd) err by a fraction of the tensor's scale. */
    private static final double SCALE = 0.1;
    private final Random rng = new Random();

    private Twin random(int... shape) {
        return Twin.random(cpu, gpu, rng, shape);
    }

    private Twin poisoned(int... shape) {
        return Twin.poisoned(cpu, gpu, shape);
    }

    /** n, c of the input slice in a storage of cTotal channels, h = w, k filters r x r, stride, pad. */
    @ParameterizedTest
    @CsvSource({
            "4, 12, 20, 9, 16, 1, 1, 0",   // bottleneck 1x1 on a block slice
            "4, 16, 16, 9, 4, 3, 1, 1",    // 3x3 growth conv writing k new channels
            "2, 3, 3, 23, 8, 7, 2, 3",     // ImageNet stem 7x7 / 2
            "3, 5, 11, 7, 6, 3, 2, 1"})    // odd everything
    void convolutionPassesMatchTheCpu(int n, int c, int cTotal, int hw, int k, int r, int stride, int pad) {
        Conv2d conv = new Conv2d(stride, pad);
        int p = conv.outSize(hw, r);
        int inFirst = cTotal - c, outFirst = 1;
        long filterOffset = 3; // a parameter view 12 bytes into the flat buffer
        int filterSize = k * c * r * r;
        try (Twin xs = random(n, cTotal, hw, hw); Twin flat = random(filterSize + 7); Twin ys = poisoned(n, k + 3, p, p);
             Twin dy = random(n, k, p, p); Twin dxs = poisoned(n, cTotal, hw, hw); Twin dflat = poisoned(filterSize + 7)) {
            Twin x = xs.channels(inFirst, inFirst + c);
            Twin w = flat.view(filterOffset, k, c, r, r);
            Twin y = ys.channels(outFirst, outFirst + k);
            Twin dx = dxs.channels(inFirst, inFirst + c);
            Twin dw = dflat.view(filterOffset, k, c, r, r);
            String what = "conv x" + GpuParity.shape(n, c, hw, hw) + " in " + cTotal + " channels, w" + GpuParity.shape(k, c, r, r)
                    + " stride " + stride + " pad " + pad;
            for (boolean accumulate : new boolean[] {false, true}) {
                cpu.convForward(x.cpu(), w.cpu(), y.cpu(), conv, accumulate);
                gpu.convForward(x.gpu(), w.gpu(), y.gpu(), conv, accumulate);
                assertClose(what + ": forward, accumulate " + accumulate, ys, CONV_RTOL, SCALE);
                cpu.convBackwardData(dy.cpu(), w.cpu(), dx.cpu(), conv, accumulate);
                gpu.convBackwardData(dy.gpu(), w.gpu(), dx.gpu(), conv, accumulate);
                assertClose(what + ": backward data, accumulate " + accumulate, dxs, CONV_RTOL, SCALE);
                cpu.convBackwardFilter(x.cpu(), dy.cpu(), dw.cpu(), conv, accumulate);
                gpu.convBackwardFilter(x.gpu(), dy.gpu(), dw.gpu(), conv, accumulate);
                assertClose(what + ": backward filter, accumulate " + accumulate, dflat, CONV_RTOL, SCALE);
                if (!accumulate) { // accumulating onto NaN stays NaN: give the accumulating pass finite outputs
                    for (Twin t : new Twin[] {y, dx, dw}) {
                        cpu.fill(t.cpu(), 0.125);
                        gpu.fill(t.gpu(), 0.125);
                    }
                }
            }
        }
    }

    @Test
    void aCachedAlgorithmServesTheSameLayerAgainWithNewData() {
        Conv2d conv = new Conv2d(1, 1);
        try (Twin x = random(8, 24, 16, 16); Twin w = random(12, 24, 3, 3); Twin y = poisoned(8, 12, 16, 16)) {
            for (int round = 0; round < 3; round++) {
                Twin fresh = random(8, 24, 16, 16);
                cpu.copy(fresh.cpu(), x.cpu(), false);
                gpu.copy(fresh.gpu(), x.gpu(), false);
                fresh.close();
                cpu.convForward(x.cpu(), w.cpu(), y.cpu(), conv, false);
                gpu.convForward(x.gpu(), w.gpu(), y.gpu(), conv, false);
                assertClose("conv round " + round, y, CONV_RTOL, SCALE);
            }
        }
    }

    /** TF32 rounds inputs to 10 mantissa bits: a few parts in 1e3 over sums of a few hundred products. */
    @Test
    void tf32ConvolutionsAndLinearStayWithinTf32Accuracy() {
        org.junit.jupiter.api.Assumptions.assumeFalse(org.densenet.engine.cuda.EmulatedGpu.requested(),
                "TF32 is a tensor-core format; the emulated device computes in float32 throughout");
        try (CudaBackend fast = CudaBackend.open(0, true);
             Twin x = random(8, 64, 16, 16); Twin w = random(32, 64, 3, 3); Twin y = poisoned(8, 32, 16, 16)) {
            org.junit.jupiter.api.Assertions.assertTrue(fast.tf32Allowed());
            Tensor xf = fast.allocate(DType.F32, 8, 64, 16, 16), wf = fast.allocate(DType.F32, 32, 64, 3, 3);
            Tensor yf = fast.allocate(DType.F32, 8, 32, 16, 16);
            fast.upload(x.cpuValues(), xf);
            fast.upload(w.cpuValues(), wf);
            Conv2d conv = new Conv2d(1, 1);
            cpu.convForward(x.cpu(), w.cpu(), y.cpu(), conv, false);
            fast.convForward(xf, wf, yf, conv, false);
            float[] got = new float[Math.toIntExact(yf.numel())];
            fast.download(yf, got);
            assertClose("TF32 conv forward", y.cpuValues(), got, 1e-2, SCALE);
            xf.close();
            wf.close();
            yf.close();
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void batchNormTrainingForwardAndBackward(boolean relu) {
        int n = 4, c = 6, cTotal = 14, hw = 5, first = 5;
        double eps = 1e-5;
        try (Twin xs = random(n, cTotal, hw, hw); Twin mean = poisoned(c); Twin var = poisoned(c); Twin gamma = random(c);
             Twin beta = random(c); Twin ys = poisoned(n, cTotal, hw, hw); Twin dy = random(n, c, hw, hw);
             Twin dxs = poisoned(n, cTotal, hw, hw); Twin dgamma = poisoned(c); Twin dbeta = poisoned(c);
             Twin runMean = random(c); Twin runVar = random(c)) {
            Twin x = xs.channels(first, first + c), y = ys.channels(2, 2 + c), dx = dxs.channels(first, first + c);
            cpu.batchNormStatistics(x.cpu(), mean.cpu(), var.cpu());
            gpu.batchNormStatistics(x.gpu(), mean.gpu(), var.gpu());
            assertClose("batch mean", mean, 1e-5, SCALE);
            assertClose("batch variance", var, 1e-5, SCALE);
            // feed both backends the CPU's statistics so each check sees only its own op's error
            float[] m = mean.cpuValues(), v = var.cpuValues();
            gpu.upload(m, mean.gpu());
            gpu.upload(v, var.gpu());
            cpu.batchNormApply(x.cpu(), mean.cpu(), var.cpu(), gamma.cpu(), beta.cpu(), eps, relu, y.cpu());
            gpu.batchNormApply(x.gpu(), mean.gpu(), var.gpu(), gamma.gpu(), beta.gpu(), eps, relu, y.gpu());
            assertClose("batch norm apply, relu " + relu, ys, 1e-5, SCALE);
            for (boolean accumulate : new boolean[] {false, true}) {
                cpu.batchNormBackward(x.cpu(), dy.cpu(), mean.cpu(), var.cpu(), gamma.cpu(), beta.cpu(), eps, relu, dx.cpu(),
                        accumulate, dgamma.cpu(), dbeta.cpu());
                gpu.batchNormBackward(x.gpu(), dy.gpu(), mean.gpu(), var.gpu(), gamma.gpu(), beta.gpu(), eps, relu, dx.gpu(),
                        accumulate, dgamma.gpu(), dbeta.gpu());
                assertClose("batch norm backward dx, relu " + relu + ", accumulate " + accumulate, dxs, 1e-4, SCALE);
                assertClose("batch norm backward dgamma", dgamma, 1e-4, SCALE);
                assertClose("batch norm backward dbeta", dbeta, 1e-4, SCALE);
            }
            long count = (long) n * hw * hw;
            cpu.batchNormUpdateRunning(mean.cpu(), var.cpu(), count, 0.1, runMean.cpu(), runVar.cpu());
            gpu.batchNormUpdateRunning(mean.gpu(), var.gpu(), count, 0.1, runMean.gpu(), runVar.gpu());
            assertClose("running mean", runMean, 1e-6);
            assertClose("running variance", runVar, 1e-6);
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void linearForwardAndBackward(boolean firstLayer) {
        int n = 7, f = 45, o = 10;
        long wOffset = 5, bOffset = 5 + (long) o * f + 1; // views into one flat parameter buffer
        int flatSize = (int) bOffset + o + 3;
        try (Twin x = random(n, f); Twin flat = random(flatSize); Twin y = poisoned(n, o); Twin dy = random(n, o);
             Twin dx = poisoned(n, f); Twin dflat = poisoned(flatSize)) {
            Twin w = flat.view(wOffset, o, f), b = flat.view(bOffset, o);
            Twin dw = dflat.view(wOffset, o, f), db = dflat.view(bOffset, o);
            cpu.linearForward(x.cpu(), w.cpu(), b.cpu(), y.cpu());
            gpu.linearForward(x.gpu(), w.gpu(), b.gpu(), y.gpu());
            assertClose("linear forward", y, CONV_RTOL, SCALE);
            cpu.linearBackward(x.cpu(), w.cpu(), dy.cpu(), firstLayer ? null : dx.cpu(), dw.cpu(), db.cpu());
            gpu.linearBackward(x.gpu(), w.gpu(), dy.gpu(), firstLayer ? null : dx.gpu(), dw.gpu(), db.gpu());
            assertClose("linear backward dw and db (the rest of the buffer untouched)", dflat, CONV_RTOL, SCALE);
            assertClose("linear backward dx" + (firstLayer ? " (not asked for: still NaN)" : ""), dx, CONV_RTOL, SCALE);
        }
    }
}
