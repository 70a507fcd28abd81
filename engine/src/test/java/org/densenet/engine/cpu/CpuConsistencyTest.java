package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.OpTesting.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.densenet.engine.DType;
import org.junit.jupiter.api.Test;

/** Float32 against float64 on the same inputs, and bit-identical results for any thread count. */
class CpuConsistencyTest {

    private static Map<String, double[]> run(int threads, DType dt) {
        try (CpuBackend b = new CpuBackend(threads)) {
            return OpSuite.run(b, dt);
        }
    }

    @Test
    void float32AgreesWithFloat64OnEveryOp() {
        Map<String, double[]> single = run(2, DType.F32), dbl = run(2, DType.F64);
        assertEquals(dbl.keySet(), single.keySet());
        for (var e : dbl.entrySet()) assertClose(e.getKey() + " F32 vs F64", e.getValue(), single.get(e.getKey()), 1e-5);
    }

    @Test
    void batchNormBackwardGivesTheSameBitsWhetherItKeepsOrRereadsItsInputs() {
        Map<String, double[]> kept = run(2, DType.F32);
        long limit = NormF32.keepLimit;
        NormF32.keepLimit = 0;
        try {
            Map<String, double[]> reread = run(2, DType.F32);
            assertArrayEquals(kept.get("bn.3"), reread.get("bn.3"), "batch-norm dx");
            assertArrayEquals(kept.get("bn.4"), reread.get("bn.4"), "batch-norm dgamma");
        } finally {
            NormF32.keepLimit = limit;
        }
    }

    @Test
    void oneTwoAndThreeThreadsGiveIdenticalBits() {
        Map<String, double[]> one = run(1, DType.F32), two = run(2, DType.F32), three = run(3, DType.F32);
        for (var e : one.entrySet()) {
            assertArrayEquals(e.getValue(), two.get(e.getKey()), e.getKey() + ": 1 vs 2 threads");
            assertArrayEquals(e.getValue(), three.get(e.getKey()), e.getKey() + ": 1 vs 3 threads");
        }
    }
}
