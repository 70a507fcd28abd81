package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.io.HostTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class ParametersTest {
    private static final CpuBackend CPU = new CpuBackend(2);

    @AfterAll
    static void close() {
        CPU.close();
    }

    @Test
    void parametersTileTheFlatBufferInTorchvisionOrder() {
        DenseNetConfig c = ModelTesting.tinyImagenet();
        try (DenseNet net = new DenseNet(c, CPU, MemoryMode.SHARED, 1)) {
            Parameters p = net.parameters();
            assertEquals(c.parameterCount(), p.count());
            assertEquals(p.values().numel(), p.grads().numel());
            long offset = 0;
            Set<String> names = new HashSet<>();
            for (Param q : p.list()) {
                assertEquals(offset, q.offset(), q.name());
                assertTrue(names.add(q.name()), "duplicate " + q.name());
                offset += q.numel();
            }
            assertEquals(c.parameterCount(), offset);
            List<String> first = p.list().stream().limit(8).map(Param::name).toList();
            assertEquals(List.of("features.conv0.weight", "features.norm0.weight", "features.norm0.bias",
                    "features.denseblock1.denselayer1.norm1.weight", "features.denseblock1.denselayer1.norm1.bias",
                    "features.denseblock1.denselayer1.conv1.weight", "features.denseblock1.denselayer1.norm2.weight",
                    "features.denseblock1.denselayer1.norm2.bias"), first);
            Param last = p.list().get(p.list().size() - 1);
            assertEquals("classifier.bias", last.name());
            assertArrayEquals(new int[]{16, 8, 1, 1}, find(p, "features.denseblock1.denselayer1.conv1.weight").shape());
            assertArrayEquals(new int[]{8, 16, 1, 1}, find(p, "features.transition1.conv.weight").shape());
            Map<String, HostTensor> state = p.stateDict();
            assertEquals(List.of("features.norm0.weight", "features.norm0.bias", "features.norm0.running_mean",
                    "features.norm0.running_var", "features.norm0.num_batches_tracked"), state.keySet().stream().skip(1).limit(5).toList());
        }
    }

    @Test
    void initialisationFollowsTorchvision() {
        try (DenseNet net = new DenseNet(DenseNetConfig.preset("densenet-bc-100-12"), CPU, MemoryMode.SHARED, 3)) {
            Map<String, HostTensor> state = net.parameters().stateDict();
            for (var e : state.entrySet()) {
                String name = e.getKey();
                HostTensor t = e.getValue();
                int[] shape = t.shape();
                if (name.endsWith("num_batches_tracked")) {
                    assertEquals(0, t.toLongArray()[0], name);
                } else if (name.endsWith("running_var") || name.contains("norm") && name.endsWith(".weight")) {
                    assertAll(t, 1.0, name);
                } else if (name.endsWith("running_mean") || name.endsWith(".bias")) {
                    assertAll(t, 0.0, name);
                } else if (shape.length == 4 && t.numel() >= 2000) {
                    double fanIn = (double) t.numel() / shape[0];
                    double[] moments = moments(t.toDoubleArray());
                    assertEquals(0, moments[0], 0.1 * Math.sqrt(2 / fanIn), name + " mean");
                    assertEquals(Math.sqrt(2 / fanIn), moments[1], 0.08 * Math.sqrt(2 / fanIn), name + " std (Kaiming normal, fan in)");
                } else if (name.equals("classifier.weight")) {
                    double bound = 1 / Math.sqrt(shape[1]);
                    for (double v : t.toDoubleArray()) assertTrue(Math.abs(v) <= bound, name + " value " + v + " outside +-" + bound);
                    assertEquals(bound / Math.sqrt(3), moments(t.toDoubleArray())[1], 0.08 * bound, name + " std (uniform)");
                }
            }
        }
    }

    @Test
    void theSeedDecidesTheWeights() {
        DenseNetConfig c = ModelTesting.tinyBc();
        try (DenseNet a = new DenseNet(c, CPU, MemoryMode.SHARED, 5);
             DenseNet b = new DenseNet(c, CPU, MemoryMode.NAIVE, 5, DType.F64);
             DenseNet d = new DenseNet(c, CPU, MemoryMode.SHARED, 6)) {
            double[] va = ModelTesting.download(a.parameters().values());
            double[] vb = ModelTesting.download(b.parameters().values());
            for (int i = 0; i < va.length; i++) assertEquals((float) vb[i], (float) va[i], "same seed, same weights in either precision");
            assertFalse(java.util.Arrays.equals(va, ModelTesting.download(d.parameters().values())));
        }
    }

    @Test
    void stateDictRoundTripsAndCountsBatches() {
        DenseNetConfig c = ModelTesting.tinyBc();
        try (DenseNet a = new DenseNet(c, CPU, MemoryMode.SHARED, 1, DType.F64);
             DenseNet b = new DenseNet(c, CPU, MemoryMode.NAIVE, 2, DType.F64);
             Tensor x = ModelTesting.randomImages(CPU, DType.F64, 1, 2, 3, 8, 8)) {
            a.forward(x, true);
            a.forward(x, true);
            a.forward(x, false);
            Map<String, HostTensor> state = a.parameters().stateDict();
            assertEquals(2, state.get("features.norm5.num_batches_tracked").toLongArray()[0]);
            b.parameters().loadStateDict(state);
            ModelTesting.assertStatesClose(state, b.parameters().stateDict(), 0);
        }
    }

    @Test
    void strictLoadingListsEveryProblem() {
        DenseNetConfig c = ModelTesting.tinyBc();
        try (DenseNet net = new DenseNet(c, CPU, MemoryMode.SHARED, 1)) {
            Map<String, HostTensor> state = new LinkedHashMap<>(net.parameters().stateDict());
            state.remove("features.denseblock2.denselayer3.conv2.weight");
            state.remove("features.norm5.running_var");
            state.put("features.norm0.weight", HostTensor.ofF32(new float[8], 8));
            state.put("classifier.bias", HostTensor.ofF32(new float[6], 6));
            state.put("features.norm5.running_mean", HostTensor.ofI64(new long[1], 1));
            String m = assertThrows(IllegalArgumentException.class, () -> net.parameters().loadStateDict(state)).getMessage();
            for (String expected : List.of("missing keys (2)", "features.denseblock2.denselayer3.conv2.weight", "features.norm5.running_var",
                    "unexpected keys (1): features.norm0.weight", "classifier.bias (this model [5], given [6])",
                    "features.norm5.running_mean (this model [")) {
                assertTrue(m.contains(expected), "message lacks '" + expected + "':\n" + m);
            }
        }
    }

    @Test
    void lenientLoadingConvertsEveryDtypeAndFillsMissingCountersWithZero() {
        DenseNetConfig c = ModelTesting.tinyBc();
        try (DenseNet a = new DenseNet(c, CPU, MemoryMode.SHARED, 1, DType.F64);
             DenseNet b = new DenseNet(c, CPU, MemoryMode.SHARED, 2, DType.F64);
             Tensor x = ModelTesting.randomImages(CPU, DType.F64, 1, 2, 3, 8, 8)) {
            a.forward(x, true);
            Map<String, HostTensor> given = new LinkedHashMap<>();
            for (Map.Entry<String, HostTensor> e : a.parameters().stateDict().entrySet()) {
                String k = e.getKey();
                if (k.endsWith("num_batches_tracked")) continue;
                // weights as float32 (as from a half or single precision file), running statistics as float64
                given.put(k, k.contains("running") ? e.getValue() : HostTensor.ofF32(e.getValue().toFloatArray(), e.getValue().shape()));
            }
            given.put("features.norm5.num_batches_tracked", HostTensor.ofF32(new float[]{7.9f}));
            given.put("classifier.bias", HostTensor.ofI32(new int[]{3, -1, 0, 2, 5}, 5));
            b.parameters().loadStateDict(given);

            Map<String, HostTensor> loaded = b.parameters().stateDict();
            for (Map.Entry<String, HostTensor> e : loaded.entrySet()) {
                String k = e.getKey();
                if (k.endsWith("num_batches_tracked")) {
                    assertEquals(k.equals("features.norm5.num_batches_tracked") ? 7 : 0, e.getValue().toLongArray()[0], k);
                } else {
                    assertArrayEquals(given.get(k).toDoubleArray(), e.getValue().toDoubleArray(), k);
                }
            }
            assertArrayEquals(new double[]{3, -1, 0, 2, 5}, loaded.get("classifier.bias").toDoubleArray());
            assertEquals(1, a.parameters().stateDict().get("features.denseblock1.denselayer1.norm1.num_batches_tracked").toLongArray()[0], "the source had counted");
        }
    }

    private static Param find(Parameters p, String name) {
        return p.list().stream().filter(q -> q.name().equals(name)).findFirst().orElseThrow();
    }

    private static void assertAll(HostTensor t, double value, String name) {
        for (double v : t.toDoubleArray()) assertEquals(value, v, name);
    }

    private static double[] moments(double[] v) {
        double mean = 0;
        for (double x : v) mean += x;
        mean /= v.length;
        double var = 0;
        for (double x : v) var += (x - mean) * (x - mean);
        return new double[]{mean, Math.sqrt(var / v.length)};
    }
}
