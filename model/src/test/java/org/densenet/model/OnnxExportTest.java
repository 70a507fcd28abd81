package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.io.HostTensor;
import org.densenet.model.onnx.OnnxExport;
import org.junit.jupiter.api.Test;

/**
 * Exported models run in ONNX Runtime (an independent implementation of every operator) and give
 * the logits our CPU backend gives in evaluation mode, for the three network shapes (bottleneck
 * with compression, plain layers with dropout, the ImageNet stem), at image sizes that make the
 * pooling round down, with preprocessing in the graph or not.
 */
class OnnxExportTest {
    /** float32 through a few dozen layers in two implementations that order sums differently. */
    private static final double TOL = 2e-5;

    /** The model's weights with every batch norm made non-trivial: random gamma, beta and running statistics. */
    private static Map<String, HostTensor> randomState(DenseNet net, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, HostTensor> state = new LinkedHashMap<>(net.parameters().stateDict());
        for (Map.Entry<String, HostTensor> e : state.entrySet()) {
            String k = e.getKey();
            int n = (int) e.getValue().numel();
            float[] v = new float[n];
            if (k.endsWith("running_var")) {
                for (int i = 0; i < n; i++) v[i] = (float) (0.2 + rng.nextDouble());
            } else if (k.endsWith("running_mean") || (k.contains("norm") && k.endsWith(".bias"))) {
                for (int i = 0; i < n; i++) v[i] = (float) (0.3 * rng.nextGaussian());
            } else if (k.contains("norm") && k.endsWith(".weight")) {
                for (int i = 0; i < n; i++) v[i] = (float) (0.5 + rng.nextDouble());
            } else {
                continue;
            }
            e.setValue(HostTensor.ofF32(v, e.getValue().shape()));
        }
        net.parameters().loadStateDict(state);
        return net.parameters().stateDict();
    }

    private static float[] randomPixels(long seed, int n) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextDouble();
        return v;
    }

    /** Logits of ONNX Runtime for input [n, c, h, w]. */
    private static float[] runOnnx(byte[] model, float[] input, int n, int c, int h, int w) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
             OrtSession session = env.createSession(model, options);
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), new long[] {n, c, h, w});
             OrtSession.Result r = session.run(Map.of(OnnxExport.INPUT, x))) {
            float[][] logits = (float[][]) r.get(OnnxExport.OUTPUT).orElseThrow().getValue();
            float[] flat = new float[logits.length * logits[0].length];
            for (int i = 0; i < logits.length; i++) System.arraycopy(logits[i], 0, flat, i * logits[0].length, logits[0].length);
            return flat;
        }
    }

    /** Our evaluation-mode logits for the same input, on the CPU backend. */
    private static double[] ours(DenseNet net, CpuBackend cpu, float[] input, int... shape) {
        try (Tensor x = cpu.allocate(DType.F32, shape)) {
            cpu.upload(input, x);
            return ModelTesting.download(net.forward(x, false));
        }
    }

    private static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    private static void check(DenseNetConfig config, int side, long seed) throws OrtException {
        try (CpuBackend cpu = new CpuBackend(2); DenseNet net = new DenseNet(config, cpu, MemoryMode.SHARED, seed)) {
            Map<String, HostTensor> state = randomState(net, seed + 1);
            int n = 3, c = config.inChannels();
            float[] pixels = randomPixels(seed + 2, n * c * side * side);
            for (int i = 0; i < pixels.length; i++) pixels[i] = (pixels[i] - 0.5f) * 4;   // about N(0, 1)-sized, normalised input
            byte[] model = OnnxExport.toBytes(config, state, new OnnxExport.Options("test", null, Map.of(), "1.0"));
            double[] expected = ours(net, cpu, pixels, n, c, side, side);
            assertEquals(n * config.numClasses(), expected.length);
            ModelTesting.assertClose(expected, widen(runOnnx(model, pixels, n, c, side, side)), TOL,
                    "ONNX Runtime against the CPU backend, " + side + "-pixel images");
        }
    }

    @Test
    void bottleneckWithCompressionMatchesTheCpuBackend() throws OrtException {
        check(ModelTesting.tinyBc(), 8, 11);
        check(ModelTesting.tinyBc(), 7, 12);  // 7 -> 3 after the transition: AveragePool rounds down, as ours does
    }

    @Test
    void plainLayersWithDropoutMatchTheCpuBackend() throws OrtException {
        check(ModelTesting.tinyPlainWithDropout(), 6, 21);
    }

    @Test
    void imagenetStemMatchesTheCpuBackend() throws OrtException {
        check(ModelTesting.tinyImagenet(), 30, 31);  // 30 -> conv 15 -> max pool 8 -> transition 4
    }

    @Test
    void densenet121AtFullSizeMatchesTheCpuBackend() throws OrtException {
        // four blocks, 224 -> 112 -> 56 -> 28 -> 14 -> 7: the real ImageNet topology, one image
        try (CpuBackend cpu = new CpuBackend(2); DenseNet net = new DenseNet(DenseNetConfig.preset("densenet121"), cpu, MemoryMode.SHARED, 41)) {
            Map<String, HostTensor> state = randomState(net, 42);
            float[] pixels = randomPixels(43, 3 * 224 * 224);
            for (int i = 0; i < pixels.length; i++) pixels[i] = (pixels[i] - 0.5f) * 4;
            byte[] model = OnnxExport.toBytes(net.config(), state, new OnnxExport.Options("densenet121", null, Map.of(), "1.0"));
            ModelTesting.assertClose(ours(net, cpu, pixels, 1, 3, 224, 224), widen(runOnnx(model, pixels, 1, 3, 224, 224)), 1e-4,
                    "densenet121, one 224-pixel image");
        }
    }

    @Test
    void normalizationInTheGraphTakesPixelsInZeroOne() throws OrtException {
        DenseNetConfig config = ModelTesting.tinyBc();
        double[] mean = {0.49, 0.48, 0.45}, std = {0.25, 0.24, 0.26};
        int n = 2, c = 3, side = 8, hw = side * side;
        try (CpuBackend cpu = new CpuBackend(2); DenseNet net = new DenseNet(config, cpu, MemoryMode.SHARED, 3)) {
            Map<String, HostTensor> state = randomState(net, 4);
            float[] pixels = randomPixels(5, n * c * hw);
            float[] normalized = new float[pixels.length];
            for (int i = 0; i < pixels.length; i++) {
                int ch = i / hw % c;
                normalized[i] = (pixels[i] - (float) mean[ch]) / (float) std[ch];
            }
            Map<String, String> meta = new LinkedHashMap<>(Weights.metadata(config));
            meta.put("dataset", "cifar10");
            byte[] model = OnnxExport.toBytes(config, state,
                    new OnnxExport.Options("densenet-test", new OnnxExport.Normalization(mean, std), meta, "0.1.0"));
            ModelTesting.assertClose(ours(net, cpu, normalized, n, c, side, side), widen(runOnnx(model, pixels, n, c, side, side)), TOL,
                    "normalisation inside the graph");

            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions(); OrtSession s = env.createSession(model, options)) {
                assertEquals("densenet", s.getMetadata().getProducerName());
                assertEquals("densenet-test", s.getMetadata().getGraphName());
                assertEquals("cifar10", s.getMetadata().getCustomMetadata().get("dataset"));
                assertEquals(Long.toString(config.parameterCount()), s.getMetadata().getCustomMetadata().get("parameter_count"));
                NodeInfo in = s.getInputInfo().get(OnnxExport.INPUT);
                // batch, height and width are free (-1); channels fixed
                assertArrayEquals(new long[] {-1, 3, -1, -1}, ((TensorInfo) in.getInfo()).getShape());
                assertArrayEquals(new long[] {-1, config.numClasses()}, ((TensorInfo) s.getOutputInfo().get(OnnxExport.OUTPUT).getInfo()).getShape());
            }
        }
    }

    @Test
    void missingOrMisshapenWeightsAreNamed() {
        DenseNetConfig config = ModelTesting.tinyBc();
        try (CpuBackend cpu = new CpuBackend(1); DenseNet net = new DenseNet(config, cpu, MemoryMode.SHARED, 1)) {
            Map<String, HostTensor> state = new LinkedHashMap<>(net.parameters().stateDict());
            OnnxExport.Options o = new OnnxExport.Options("t", null, null, null);
            state.remove("features.denseblock2.denselayer3.norm2.running_var");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OnnxExport.toBytes(config, state, o));
            assertEquals("the weights have no features.denseblock2.denselayer3.norm2.running_var", e.getMessage());

            Map<String, HostTensor> wrong = new LinkedHashMap<>(net.parameters().stateDict());
            wrong.put("classifier.bias", HostTensor.ofF32(new float[4], 4));
            e = assertThrows(IllegalArgumentException.class, () -> OnnxExport.toBytes(config, wrong, o));
            assertEquals("classifier.bias has shape [4], the network needs [5]", e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> OnnxExport.toBytes(config, net.parameters().stateDict(),
                    new OnnxExport.Options("t", new OnnxExport.Normalization(new double[] {0.5}, new double[] {0.5}), null, null)));
            assertTrue(e.getMessage().startsWith("normalization has 1 channels, the network takes 3"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new OnnxExport.Normalization(new double[] {0.5}, new double[] {0}));
        }
    }
}
