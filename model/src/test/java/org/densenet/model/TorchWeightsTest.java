package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The state of torchvision-tiny.safetensors as PyTorch users hold it (scripts/fixtures/make_torch_fixtures.py):
 * each file must load into the same network with the values PyTorch saved.
 */
class TorchWeightsTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    /** torchvision.models.DenseNet(growth_rate=4, block_config=(2, 2), num_init_features=8, bn_size=4, num_classes=6). */
    private static final DenseNetConfig TORCHVISION_TINY = new DenseNetConfig(new int[]{2, 2}, 4, 4, 0.5, 0, Stem.IMAGENET, 8, 6, 3);

    @AfterAll
    static void close() {
        CPU.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "torchvision-tiny.pth,            exact, 3",
        "torchvision-tiny-legacy.pth,     exact, 0",   // legacy format and names, no counters
        "torchvision-tiny-checkpoint.pth.tar, exact, 3",   // {'state_dict': {'module.' + name: ...}, 'optimizer': ..., ...}
        "torchvision-tiny-timm.pth.tar,   exact, 3",   // timm's: {'state_dict': ..., 'args': argparse.Namespace(...), ...}
        "torchvision-tiny-f16.pth,        f16,   3",
        "torchvision-tiny-bf16.pth,       bf16,  3",
        "torchvision-tiny-f64.pth,        exact, 3",   // counters stored as float32
    })
    void aPyTorchFileLoadsWithTheValuesPyTorchSaved(String name, String rounding, long counters) throws Exception {
        Map<String, HostTensor> saved = SafeTensors.read(resource("torchvision-tiny.safetensors"));
        DoubleUnaryOperator round = switch (rounding) {
            case "f16" -> v -> Float.float16ToFloat(Float.floatToFloat16((float) v));
            case "bf16" -> v -> bfloat16((float) v);
            default -> v -> v;
        };
        try (DenseNet net = new DenseNet(TORCHVISION_TINY, CPU, MemoryMode.SHARED, 0)) {
            Weights.load(net, resource(name));
            Map<String, HostTensor> loaded = net.parameters().stateDict();
            assertEquals(List.copyOf(saved.keySet()), List.copyOf(loaded.keySet()));
            int changedByRounding = 0;
            for (Map.Entry<String, HostTensor> e : saved.entrySet()) {
                String k = e.getKey();
                if (k.endsWith("num_batches_tracked")) {
                    assertEquals(counters, loaded.get(k).toLongArray()[0], k);
                    continue;
                }
                double[] want = e.getValue().toDoubleArray();
                for (int i = 0; i < want.length; i++) {
                    double r = round.applyAsDouble(want[i]);
                    if (r != want[i]) changedByRounding++;
                    want[i] = r;
                }
                assertArrayEquals(want, loaded.get(k).toDoubleArray(), k);
            }
            assertEquals(rounding.equals("exact"), changedByRounding == 0, "16-bit files hold rounded values, the others exact ones");
        }
    }

    @Test
    void torchvisionsLegacyFileGivesTorchvisionsLogits() throws Exception {
        Map<String, HostTensor> check = SafeTensors.read(resource("torchvision-tiny-eval.safetensors"));
        try (DenseNet net = new DenseNet(TORCHVISION_TINY, CPU, MemoryMode.SHARED, 0);
             Tensor x = CPU.allocate(DType.F32, check.get("input").shape())) {
            net.parameters().loadStateDict(Weights.readStateDict(resource("torchvision-tiny-legacy.pth")).tensors());
            CPU.upload(check.get("input").toFloatArray(), x);
            ModelTesting.assertClose(check.get("logits").toDoubleArray(), ModelTesting.download(net.forward(x, false)), 1e-5,
                    "eval logits against torchvision");
        }
    }

    @Test
    void namesAreMappedAsTorchvisionAndDataParallelNeed() {
        HostTensor t = HostTensor.ofF32(new float[]{1}, 1);
        Map<String, HostTensor> in = new LinkedHashMap<>();
        for (String k : List.of("module.features.denseblock2.denselayer12.norm.2.running_var", "features.denseblock1.denselayer1.conv.1.weight",
                "features.transition1.norm.weight", "module.classifier.bias", "optimizer.momentum_buffer.features.conv0.weight")) {
            in.put(k, t);
        }
        assertEquals(List.of("features.denseblock2.denselayer12.norm2.running_var", "features.denseblock1.denselayer1.conv1.weight",
                "features.transition1.norm.weight", "classifier.bias", "optimizer.momentum_buffer.features.conv0.weight"),
                List.copyOf(Weights.torchvisionNames(in).keySet()));
    }

    @Test
    void checkpointDictsGiveUpTheirStateDictOrSayWhatTheyHold() throws IOException {
        Path f = Path.of("ckpt.pth");
        Map<String, Object> weights = Map.of("classifier.bias", HostTensor.ofF32(new float[]{2}, 1));
        assertEquals(weights, Weights.stateDictIn(f, Map.of("model", weights, "epoch", 3)));
        assertEquals(weights, Weights.stateDictIn(f, Map.of("state_dict", weights, "model", "densenet")));
        Map<String, Object> noWeights = new LinkedHashMap<>();
        noWeights.put("epoch", 3);
        noWeights.put("arch", "densenet121");
        String m = assertThrows(IOException.class, () -> Weights.stateDictIn(f, noWeights)).getMessage();
        assertEquals("ckpt.pth holds a dict with keys [epoch, arch] but no state dict (a dict of tensors), neither itself nor under state_dict"
                + " or model", m);
        m = assertThrows(IOException.class, () -> Weights.stateDictIn(f, List.of(1, 2))).getMessage();
        assertEquals("ckpt.pth holds a list, not a state dict (a dict of tensors)", m);
    }

    @Test
    void aPyTorchFileOfAnotherModelGetsTheListOfWhatDoesNotFit() throws Exception {
        Path file = resource("torchvision-tiny-legacy.pth");
        try (DenseNet net = new DenseNet(ModelTesting.tinyBc(), CPU, MemoryMode.SHARED, 0)) {
            String m = assertThrows(IllegalArgumentException.class, () -> Weights.load(net, file)).getMessage();
            assertTrue(m.startsWith(file.toString()), m);
            assertTrue(m.contains("unexpected keys") && m.contains("features.norm0.weight") && m.contains("missing keys"), m);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Weights.readConfig(file));
        assertTrue(e.getMessage().contains("does not say which DenseNet"), e.getMessage());
    }

    /** float32 to bfloat16, rounding to nearest even as PyTorch does, and back. */
    private static double bfloat16(float v) {
        int bits = Float.floatToRawIntBits(v);
        bits += 0x7fff + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(bits & 0xffff0000);
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(TorchWeightsTest.class.getResource(name).toURI());
    }
}
