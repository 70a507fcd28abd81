package org.densenet.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.densenet.engine.Precision;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Weights;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Decoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    private static TrainConfig config() {
        DenseNetConfig model = DenseNetConfig.cifar(16, 6, true, 0.5, 0.2, 100).withInChannels(1);
        return new TrainConfig("densenet-bc-16-6", model, MemoryMode.NAIVE, DatasetKind.CIFAR100, Path.of("/data/c100"), true, false, 32, 48,
                LrSchedule.cosine(0.05, 7, 0.5), 0.85, 5e-4, false, -42, "cuda:1", 3,
                new Decoding(Decoding.Decoder.IMAGEIO, true), Path.of("runs/x"), 99, "/w/densenet121.pth", Precision.BF16);
    }

    @Test
    void everySettingStateAndTensorSurvivesSaveAndLoad() throws IOException {
        TrainConfig cfg = config();
        TrainState st = new TrainState(3, 17, 1234, 71.5, 2, 81.25, 600, 800, 12.5, 1.75);
        Map<String, HostTensor> w = new LinkedHashMap<>();
        w.put("features.conv0.weight", HostTensor.ofF32(new float[] {1.5f, -2f, Float.MIN_VALUE, 3e-38f}, 2, 2));
        w.put("features.norm5.num_batches_tracked", HostTensor.ofI64(new long[] {1234}));
        float[] mom = {0.25f, -0.125f, 7f};
        Path f = dir.resolve("last.safetensors");
        new Checkpoint(cfg, st, w, mom, List.of("cat", "dog 2", "n01440764")).save(f);

        Checkpoint back = Checkpoint.load(f);
        assertEquals(cfg.toMap(), back.config().toMap());
        assertEquals(cfg.model(), back.config().model());
        assertEquals(st, back.state());
        assertArrayEquals(mom, back.momentum());
        assertEquals(List.of("cat", "dog 2", "n01440764"), back.classNames());
        assertEquals(w.keySet(), back.weights().keySet(), "optimizer entries are not weights");
        assertArrayEquals(w.get("features.conv0.weight").toFloatArray(), back.weights().get("features.conv0.weight").toFloatArray());
        assertEquals(cfg.model(), Weights.readConfig(f), "the model's own reader understands a checkpoint");
        assertEquals(null, back.scaler(), "a run without loss scaling, like every checkpoint before it existed, has no scaler");
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file is left behind");
        }
    }

    @Test
    void anFp16RunsLossScalerSurvivesSaveAndLoadExactly() throws IOException {
        LossScaler.Saved scaler = new LossScaler.Saved(0x1p-7f * 3, 1999, 12_345_678_901L);
        Path f = dir.resolve("fp16.safetensors");
        new Checkpoint(config(), TrainState.START, Map.of(), new float[] {1f}, null, scaler).save(f);
        assertEquals(scaler, Checkpoint.load(f).scaler());
        assertEquals("1999", SafeTensors.readMetadata(f).get("scaler.clean_steps"));
    }

    @Test
    void aCheckpointWrittenBeforeTheDataWaitWasKeptResumesWithNone() {
        Map<String, String> m = new java.util.HashMap<>(new TrainState(3, 17, 1234, 71.5, 2, 81.25, 600, 800, 12.5, 1.75).toMap());
        assertEquals("1.75", m.remove("state.data_wait_seconds"));
        assertEquals(new TrainState(3, 17, 1234, 71.5, 2, 81.25, 600, 800, 12.5, 0), TrainState.fromMap(m));
    }

    @Test
    void weightsOnlyFileCannotBeResumedAndSaysWhy() throws IOException {
        Path f = dir.resolve("w.safetensors");
        SafeTensors.write(f, Map.of("classifier.bias", HostTensor.ofF32(new float[] {0f}, 1)), Map.of());
        IOException e = assertThrows(IOException.class, () -> Checkpoint.load(f));
        assertTrue(e.getMessage().contains("not a training checkpoint"), e.getMessage());
        assertFalse(e.getMessage().isBlank());
    }
}
