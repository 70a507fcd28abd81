package org.densenet.engine.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.Random;

import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Precision;
import org.densenet.engine.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The CPU backend as the twin of the 16-bit GPU path: what an op stores is its float32 result on
 * 16-bit inputs and weights, rounded once to the 16-bit format; the float32 master weights stay
 * float32, and a convolution's weight gradient is rounded once to 16 bits (as cuDNN computes it)
 * before it goes into its float32 buffer.
 */
class CpuSixteenBitTwinTest {
    private static float[] random(Random rng, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (rng.nextFloat() * 2 - 1) * scale;
        return v;
    }

    private static float[] rounded(float[] v, Precision p) {
        float[] r = v.clone();
        for (int i = 0; i < r.length; i++) r[i] = p.round(r[i]);
        return r;
    }

    private static float[] values(CpuBackend b, Tensor t) {
        float[] v = new float[(int) t.numel()];
        b.download(t, v);
        return v;
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void convolutionStoresTheRoundedResultOfRoundedOperandsAndKeepsTheMasterWeights(Precision p) {
        Random rng = new Random(7);
        float[] x = random(rng, 2 * 5 * 6 * 6, 3), w = random(rng, 4 * 5 * 3 * 3, 1), dy = random(rng, 2 * 4 * 6 * 6, 2);
        Conv2d conv = new Conv2d(1, 1);
        try (CpuBackend twin = new CpuBackend(1, p); CpuBackend fp32 = new CpuBackend(1);
             Tensor tx = twin.allocate(DType.F32, 2, 5, 6, 6); Tensor tw = twin.allocate(DType.F32, 4, 5, 3, 3);
             Tensor ty = twin.allocate(DType.F32, 2, 4, 6, 6); Tensor tdy = twin.allocate(DType.F32, 2, 4, 6, 6);
             Tensor tdx = twin.allocate(DType.F32, 2, 5, 6, 6); Tensor tdw = twin.allocate(DType.F32, 4, 5, 3, 3);
             Tensor rx = fp32.allocate(DType.F32, 2, 5, 6, 6); Tensor rw = fp32.allocate(DType.F32, 4, 5, 3, 3);
             Tensor ry = fp32.allocate(DType.F32, 2, 4, 6, 6); Tensor rdy = fp32.allocate(DType.F32, 2, 4, 6, 6);
             Tensor rdx = fp32.allocate(DType.F32, 2, 5, 6, 6); Tensor rdw = fp32.allocate(DType.F32, 4, 5, 3, 3)) {
            twin.upload(x, tx);
            twin.upload(w, tw);
            twin.upload(rounded(dy, p), tdy); // a gradient arrives stored, as the op that wrote it left it
            fp32.upload(rounded(x, p), rx);
            fp32.upload(rounded(w, p), rw);
            fp32.upload(rounded(dy, p), rdy);

            twin.convForward(tx, tw, ty, conv, false);
            fp32.convForward(rx, rw, ry, conv, false);
            assertArrayEquals(rounded(values(fp32, ry), p), values(twin, ty), "y: float32 sums of 16-bit operands, rounded once");
            assertArrayEquals(rounded(x, p), values(twin, tx), "the input is read, and left, as 16-bit storage holds it");
            assertArrayEquals(w, values(twin, tw), "the master weights stay float32");
            assertNotEquals(0, java.util.Arrays.compare(w, rounded(w, p)), "random weights are not 16-bit values to begin with");

            twin.convBackwardData(tdy, tw, tdx, conv, false);
            fp32.convBackwardData(rdy, rw, rdx, conv, false);
            assertArrayEquals(rounded(values(fp32, rdx), p), values(twin, tdx), "dx is stored in 16 bits");

            twin.convBackwardFilter(tx, tdy, tdw, conv, false);
            fp32.convBackwardFilter(rx, rdy, rdw, conv, false);
            assertArrayEquals(rounded(values(fp32, rdw), p), values(twin, tdw),
                    "a convolution's weight gradient is rounded once to 16 bits (cuDNN computes it in its inputs' type), then kept in float32");
            float[] before = random(rng, 4 * 5 * 3 * 3, 1);   // float32 values 16 bits cannot hold, as a gradient buffer may
            twin.upload(before, tdw);
            twin.convBackwardFilter(tx, tdy, tdw, conv, true);
            float[] sum = before.clone();
            float[] once = rounded(values(fp32, rdw), p);
            for (int i = 0; i < sum.length; i++) sum[i] += once[i];
            assertArrayEquals(sum, values(twin, tdw), "accumulating: the rounded gradient added in float32, the sum not rounded again");
            assertNotEquals(0, java.util.Arrays.compare(sum, rounded(sum, p)), "the float32 buffer holds values 16 bits cannot");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"BF16", "FP16"})
    void batchNormStoresItsOutputIn16BitsAndItsParameterGradientsInFloat32(Precision p) {
        Random rng = new Random(9);
        int n = 3, c = 4, hw = 5 * 5;
        float[] x = rounded(random(rng, n * c * hw, 2), p), dy = rounded(random(rng, n * c * hw, 1), p);
        float[] gamma = random(rng, c, 1), beta = random(rng, c, 1);
        try (CpuBackend twin = new CpuBackend(1, p); CpuBackend fp32 = new CpuBackend(1)) {
            float[][] out = new float[2][];
            float[][] dgamma = new float[2][];
            CpuBackend[] both = {twin, fp32};
            for (int i = 0; i < 2; i++) {
                CpuBackend b = both[i];
                try (Tensor tx = b.allocate(DType.F32, n, c, 5, 5); Tensor ty = b.allocate(DType.F32, n, c, 5, 5);
                     Tensor mean = b.allocate(DType.F32, c); Tensor var = b.allocate(DType.F32, c); Tensor g = b.allocate(DType.F32, c);
                     Tensor be = b.allocate(DType.F32, c); Tensor tdy = b.allocate(DType.F32, n, c, 5, 5);
                     Tensor tdx = b.allocate(DType.F32, n, c, 5, 5); Tensor dg = b.allocate(DType.F32, c); Tensor db = b.allocate(DType.F32, c)) {
                    b.upload(x, tx);
                    b.upload(gamma, g);
                    b.upload(beta, be);
                    b.upload(dy, tdy);
                    b.batchNormStatistics(tx, mean, var);
                    b.batchNormApply(tx, mean, var, g, be, 1e-5, true, ty);
                    b.batchNormBackward(tx, tdy, mean, var, g, be, 1e-5, true, tdx, false, dg, db);
                    out[i] = values(b, ty);
                    dgamma[i] = values(b, dg);
                    float[] dx = values(b, tdx);
                    if (i == 0) assertArrayEquals(rounded(dx, p), dx, "dx is stored in 16 bits");
                }
            }
            assertArrayEquals(rounded(out[1], p), out[0], "y: the float32 result rounded once");
            assertArrayEquals(dgamma[1], dgamma[0], "gamma's gradient is float32, from the same 16-bit inputs");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "TF32"})
    void thirtyTwoBitPrecisionsStoreFloat32(Precision p) {
        float[] v = {1.0001f, -3.14159265f, 1e-30f};
        try (CpuBackend b = new CpuBackend(1, p); Tensor a = b.allocate(DType.F32, 3); Tensor r = b.allocate(DType.F32, 3)) {
            b.upload(v, a);
            b.relu(a, r);
            assertArrayEquals(new float[] {1.0001f, 0, 1e-30f}, values(b, r));
            assertEquals(java.util.Map.of(), b.versions());
        }
    }
}
