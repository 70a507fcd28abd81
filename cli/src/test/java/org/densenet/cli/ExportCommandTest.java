package org.densenet.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Weights;
import org.densenet.train.Checkpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code densenet export} through the real command line: a checkpoint-like file (weights, the
 * optimizer's momentum, the run's model and dataset in its metadata) becomes an ONNX model that
 * ONNX Runtime runs to our CPU backend's logits, with and without the normalisation in the graph,
 * or a plain weights file; mistakes are refused with the reason.
 */
class ExportCommandTest {
    private static final DenseNetConfig CONFIG = DenseNetConfig.preset("densenet-bc-10-4");
    private static final double[] CIFAR_MEAN = {0.4914, 0.4822, 0.4465}, CIFAR_STD = {0.2470, 0.2435, 0.2616};
    private static final int N = 2, SIDE = 8;

    @TempDir
    static Path dir;
    private static Path checkpoint;
    private static Map<String, HostTensor> state;
    private static float[] pixels;
    private static float[] expectedLogits;

    /** Random weights with non-trivial batch-norm statistics, saved as a training run saves them; our logits for a batch. */
    @BeforeAll
    static void checkpointAndReference() throws IOException {
        SplittableRandom rng = new SplittableRandom(7);
        try (CpuBackend cpu = new CpuBackend(1); DenseNet net = new DenseNet(CONFIG, cpu, MemoryMode.SHARED, 3)) {
            Map<String, HostTensor> s = new LinkedHashMap<>(net.parameters().stateDict());
            s.replaceAll((k, t) -> {
                if (!k.contains("norm") || !t.dtype().isFloating()) return t;
                float[] v = new float[(int) t.numel()];
                for (int i = 0; i < v.length; i++) v[i] = (float) (k.endsWith("running_mean") || k.endsWith("bias") ? 0.3 * rng.nextGaussian() : 0.5 + rng.nextDouble());
                return HostTensor.ofF32(v, t.shape());
            });
            net.parameters().loadStateDict(s);
            state = net.parameters().stateDict();

            pixels = new float[N * 3 * SIDE * SIDE];
            float[] normalized = new float[pixels.length];
            for (int i = 0; i < pixels.length; i++) {
                int ch = i / (SIDE * SIDE) % 3;
                pixels[i] = (float) rng.nextDouble();
                normalized[i] = (pixels[i] - (float) CIFAR_MEAN[ch]) / (float) CIFAR_STD[ch];
            }
            try (Tensor x = cpu.allocate(DType.F32, N, 3, SIDE, SIDE)) {
                cpu.upload(normalized, x);
                Tensor logits = net.forward(x, false);
                expectedLogits = new float[(int) logits.numel()];
                cpu.download(logits, expectedLogits);
            }
        }
        Map<String, HostTensor> tensors = new LinkedHashMap<>(state);
        float[] momentum = new float[(int) CONFIG.parameterCount()];
        tensors.put(Checkpoint.MOMENTUM, HostTensor.ofF32(momentum, momentum.length));
        Map<String, String> meta = new LinkedHashMap<>(Weights.metadata(CONFIG));
        meta.put("config.model", "densenet-bc-10-4");
        meta.put("config.dataset", "cifar10");
        checkpoint = dir.resolve("last.safetensors");
        SafeTensors.write(checkpoint, tensors, meta);
    }

    private static float[] onnxLogits(Path model, float[] input) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions();
             OrtSession s = env.createSession(model.toString(), o);
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), new long[] {N, 3, SIDE, SIDE});
             OrtSession.Result r = s.run(Map.of("input", x))) {
            float[][] l = (float[][]) r.get("logits").orElseThrow().getValue();
            float[] flat = new float[l.length * l[0].length];
            for (int i = 0; i < l.length; i++) System.arraycopy(l[i], 0, flat, i * l[0].length, l[0].length);
            return flat;
        }
    }

    private static void assertLogits(float[] actual) {
        assertEquals(expectedLogits.length, actual.length);
        double scale = 0, diff = 0;
        for (int i = 0; i < actual.length; i++) {
            scale = Math.max(scale, Math.abs(expectedLogits[i]));
            diff = Math.max(diff, Math.abs(expectedLogits[i] - actual[i]));
        }
        assertTrue(diff <= 2e-5 * scale, "ONNX Runtime's logits differ from ours by " + diff + " (largest logit " + scale + ")");
    }

    @Test
    void onnxWithTheNormalisationInTheGraphTakesPixels() throws Exception {
        Path out = dir.resolve("pixels.onnx");
        InProcess.Run r = InProcess.run("export", "--weights", checkpoint.toString(), "-o", out.toString(), "--normalize");
        assertEquals(0, r.status(), r.all());
        assertTrue(r.out().contains("pixel values in [0, 1] (cifar10's normalisation is in the graph)"), r.all());
        assertLogits(onnxLogits(out, pixels));
    }

    @Test
    void onnxByDefaultTakesNormalisedImagesAndNamesTheStatistics() throws Exception {
        InProcess.Run r = InProcess.run("export", "--weights", checkpoint.toString());
        assertEquals(0, r.status(), r.all());
        Path out = dir.resolve("last.onnx");   // beside the weights
        assertTrue(Files.isRegularFile(out), r.all());
        assertTrue(r.out().contains("normalised with cifar10's mean 0.4914,0.4822,0.4465 and std 0.247,0.2435,0.2616"), r.all());
        float[] normalized = new float[pixels.length];
        for (int i = 0; i < pixels.length; i++) {
            int ch = i / (SIDE * SIDE) % 3;
            normalized[i] = (pixels[i] - (float) CIFAR_MEAN[ch]) / (float) CIFAR_STD[ch];
        }
        assertLogits(onnxLogits(out, normalized));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions(); OrtSession s = env.createSession(out.toString(), o)) {
            Map<String, String> meta = s.getMetadata().getCustomMetadata();
            assertEquals("densenet-bc-10-4", meta.get("model"));
            assertEquals("cifar10", meta.get("dataset"));
            assertEquals("0.4914,0.4822,0.4465", meta.get("mean"));
            assertEquals(Long.toString(CONFIG.parameterCount()), meta.get("parameter_count"));
        }
        InProcess.Run again = InProcess.run("export", "--weights", checkpoint.toString());
        assertEquals(2, again.status(), again.all());
        assertTrue(again.err().contains("last.onnx exists; pass --force to replace it"), again.all());
        assertEquals(0, InProcess.run("export", "--weights", checkpoint.toString(), "--force").status());
    }

    @Test
    void weightsFileDropsTheOptimizerAndKeepsTheNetwork() throws Exception {
        Path out = dir.resolve("weights.safetensors");
        InProcess.Run r = InProcess.run("export", "--weights", checkpoint.toString(), "-o", out.toString());
        assertEquals(0, r.status(), r.all());
        SafeTensors.Contents c = SafeTensors.load(out);
        assertEquals(state.keySet(), c.tensors().keySet(), "the network's tensors, no optimizer entries");
        for (String k : state.keySet()) {
            if (state.get(k).dtype().isFloating()) assertArrayEquals(state.get(k).toFloatArray(), c.tensors().get(k).toFloatArray(), 0f, k);
            else assertArrayEquals(state.get(k).toLongArray(), c.tensors().get(k).toLongArray(), k);
        }
        assertEquals(CONFIG.parameterCount(), Weights.readConfig(out).parameterCount());
        assertEquals("cifar10", c.metadata().get("config.dataset"));
    }

    /** A description in a file's metadata that does not read is the file's fault: exit status 1 naming it, in every command that reads it. */
    @Test
    void aDamagedNetworkDescriptionIsADataErrorInEveryCommand() throws Exception {
        Map<String, HostTensor> tensors = new LinkedHashMap<>(SafeTensors.read(checkpoint));
        Map<String, String> meta = new LinkedHashMap<>(Weights.metadata(CONFIG));
        meta.put("block_sizes", "2,x");
        Path damaged = dir.resolve("damaged.safetensors");
        SafeTensors.write(damaged, tensors, meta);
        InProcess.Run[] runs = {
            InProcess.run("export", "--weights", damaged.toString(), "-o", dir.resolve("damaged.onnx").toString()),
            InProcess.run("train", "--dataset", "synthetic", "--pretrained", damaged.toString(), "--epochs", "1", "--device", "cpu",
                    "--output", dir.resolve("damaged-run").toString()),
        };
        for (InProcess.Run r : runs) {
            assertEquals(1, r.status(), r.all());
            assertTrue(r.err().contains("damaged.safetensors"), r.all());
            assertFalse(r.err().contains("Usage:"), "no usage text for a damaged file: " + r.all());
        }
    }

    @Test
    void mistakesAreRefusedWithTheReason() throws Exception {
        InProcess.Run r = InProcess.run("export", "--weights", checkpoint.toString(), "-o", dir.resolve("model.bin").toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("cannot tell the format from"), r.all());

        r = InProcess.run("export", "--weights", checkpoint.toString(), "-o", dir.resolve("m.onnx").toString(), "--format", "safetensors");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--format safetensors writes .safetensors files"), r.all());

        r = InProcess.run("export", "--weights", dir.resolve("absent.safetensors").toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("absent.safetensors: weights file not found"), r.all());

        // as PyTorch would save it: torchvision names, no metadata
        Path plain = dir.resolve("torch.safetensors");
        SafeTensors.write(plain, state, Map.of());
        r = InProcess.run("export", "--weights", plain.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("does not say which DenseNet it holds"), r.all());
        r = InProcess.run("export", "--weights", plain.toString(), "--model", "densenet-bc-10-4", "--normalize");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--normalize needs the dataset's statistics"), r.all());
        r = InProcess.run("export", "--weights", plain.toString(), "--model", "densenet-bc-16-4");
        assertEquals(1, r.status());
        assertTrue(r.err().contains("does not fit densenet-bc-16-4"), r.all());
        assertFalse(Files.exists(dir.resolve("torch.onnx")), "nothing written on failure");
        r = InProcess.run("export", "--weights", plain.toString(), "--model", "densenet-bc-10-4", "--dataset", "cifar10", "--normalize");
        assertEquals(0, r.status(), r.all());
        assertLogits(onnxLogits(dir.resolve("torch.onnx"), pixels));
    }
}
