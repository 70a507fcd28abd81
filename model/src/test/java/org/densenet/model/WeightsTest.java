package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightsTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    /** torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=4, num_classes=6). */
    private static final DenseNetConfig TORCHVISION_TINY = new DenseNetConfig(new int[]{2, 2}, 4, 4, 0.5, 0, Stem.IMAGENET, 8, 6, 3);

    @TempDir
    Path dir;

    @AfterAll
    static void close() {
        CPU.close();
    }

    /** The files come from src/test/python/make_torchvision_weights.py: a state_dict() as PyTorch saves it. */
    @Test
    void torchvisionStateDictLoadsUnchangedAndGivesItsEvalLogits() throws Exception {
        Path weights = resource("torchvision-tiny.safetensors");
        Map<String, HostTensor> check = SafeTensors.read(resource("torchvision-tiny-eval.safetensors"));
        try (DenseNet net = new DenseNet(TORCHVISION_TINY, CPU, MemoryMode.SHARED, 0);
             Tensor x = CPU.allocate(DType.F32, check.get("input").shape())) {
            Weights.load(net, weights);
            Map<String, HostTensor> file = SafeTensors.read(weights);
            assertArrayEquals(file.keySet().toArray(), net.parameters().stateDict().keySet().toArray(), "torchvision's keys and order");
            ModelTesting.assertStatesClose(file, net.parameters().stateDict(), 0);
            assertEquals(3, net.parameters().stateDict().get("features.norm5.num_batches_tracked").toLongArray()[0]);
            CPU.upload(check.get("input").toFloatArray(), x);
            ModelTesting.assertClose(check.get("logits").toDoubleArray(), ModelTesting.download(net.forward(x, false)), 1e-5,
                    "eval logits against torchvision");
        }
    }

    @Test
    void savedFileRestoresEveryTensorAndTheConfiguration() throws Exception {
        DenseNetConfig c = ModelTesting.tinyPlainWithDropout();
        Path file = dir.resolve("w.safetensors");
        try (DenseNet a = new DenseNet(c, CPU, MemoryMode.NAIVE, 1);
             DenseNet b = new DenseNet(c, CPU, MemoryMode.SHARED, 2);
             Tensor x = ModelTesting.randomImages(CPU, DType.F32, 3, 2, 3, 8, 8)) {
            a.forward(x, true);
            Weights.save(a, file);
            assertEquals(c, Weights.readConfig(file));
            Weights.load(b, file);
            ModelTesting.assertStatesClose(a.parameters().stateDict(), b.parameters().stateDict(), 0);
        }
    }

    @Test
    void aFileOfAnotherModelIsRefusedNamingTheFileAndTheKeys() throws Exception {
        Path file = dir.resolve("other.safetensors");
        Map<String, HostTensor> state;
        try (DenseNet other = new DenseNet(ModelTesting.tinyBc(), CPU, MemoryMode.SHARED, 1)) {
            state = new LinkedHashMap<>(other.parameters().stateDict());
        }
        SafeTensors.write(file, state);
        try (DenseNet net = new DenseNet(TORCHVISION_TINY, CPU, MemoryMode.SHARED, 0)) {
            String m = assertThrows(IllegalArgumentException.class, () -> Weights.load(net, file)).getMessage();
            assertTrue(m.startsWith(file.toString()), m);
            assertTrue(m.contains("missing keys") && m.contains("features.norm0.weight") && m.contains("mismatched"), m);
        }
        String m = assertThrows(IllegalArgumentException.class, () -> Weights.readConfig(file)).getMessage();
        assertTrue(m.contains("does not say which DenseNet"), m);
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(WeightsTest.class.getResource(name).toURI());
    }
}
