package org.densenet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.densenet.model.DenseNetConfig;
import org.junit.jupiter.api.Test;

class ModelReportTest {
    @Test
    void stageParametersAddUpToTheModelsCountForEveryPreset() {
        for (String name : DenseNetConfig.presetNames()) {
            DenseNetConfig c = DenseNetConfig.preset(name);
            ModelReport r = ModelReport.of(c, c.stem() == org.densenet.model.Stem.CIFAR ? 32 : 224);
            assertEquals(c.parameterCount(), r.parameters(), name);
        }
        DenseNetConfig fashion = DenseNetConfig.cifar(40, 12, true, 0.5, 0, 10).withInChannels(1);
        assertEquals(fashion.parameterCount(), ModelReport.of(fashion, 28).parameters());
    }

    @Test
    void densenet121CostsWhatTorchvisionReports() {
        // torchvision's model table: DenseNet-121, 2.83 GFLOPS (multiply-adds) at 224x224.
        assertEquals(2.834e9, ModelReport.of(DenseNetConfig.preset("densenet121"), 224).macs(), 0.002e9);
    }

    @Test
    void plainLayerCostIsNineMultiplyAddsPerInputChannelPixelAndOutput() {
        // One block of one plain layer: 16 channels in, k = 4 out, at 8x8, plus stem 3->16 and classifier.
        DenseNetConfig c = new DenseNetConfig(new int[] {1}, 4, 0, 1.0, 0, org.densenet.model.Stem.CIFAR, 16, 10, 3);
        ModelReport r = ModelReport.of(c, 8);
        assertEquals(9L * 3 * 16 * 64 + 9L * 16 * 4 * 64 + 20L * 10, r.macs());
    }
}
