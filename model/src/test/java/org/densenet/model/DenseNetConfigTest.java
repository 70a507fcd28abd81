package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DenseNetConfigTest {

    /** Counts from PyTorch: sum(p.numel() for p in model.parameters()), torchvision for the ImageNet family. */
    private static final Map<String, Long> PYTORCH_COUNTS = Map.ofEntries(
            Map.entry("densenet-40-12", 1_019_722L),
            Map.entry("densenet-100-12", 6_979_642L),
            Map.entry("densenet-100-24", 27_249_082L),
            Map.entry("densenet-bc-100-12", 769_162L),
            Map.entry("densenet-bc-250-24", 15_324_406L),
            Map.entry("densenet-bc-190-40", 25_624_430L),
            Map.entry("densenet121", 7_978_856L),
            Map.entry("densenet161", 28_681_000L),
            Map.entry("densenet169", 14_149_480L),
            Map.entry("densenet201", 20_013_928L),
            Map.entry("densenet264", 33_337_704L));

    @Test
    void everyPresetHasPyTorchsParameterCount() {
        assertEquals(PYTORCH_COUNTS.keySet(), new java.util.HashSet<>(DenseNetConfig.presetNames()));
        for (String name : DenseNetConfig.presetNames()) {
            assertEquals(PYTORCH_COUNTS.get(name), DenseNetConfig.preset(name).parameterCount(), name);
        }
    }

    @Test
    void cifarFactoryFollowsHuangEtAlsRules() {
        DenseNetConfig plain = DenseNetConfig.cifar(40, 12, false, 1.0, 0.2, 100);
        assertArrayEquals(new int[]{12, 12, 12}, plain.blockSizes());
        assertEquals(16, plain.initFeatures());
        assertEquals(0, plain.bnSize());
        assertEquals(16 + 36 * 12, plain.finalChannels());

        DenseNetConfig bc = DenseNetConfig.cifar(100, 12, true, 0.5, 0.0, 10);
        assertArrayEquals(new int[]{16, 16, 16}, bc.blockSizes());
        assertEquals(24, bc.initFeatures());
        assertEquals(48, bc.bottleneckChannels());
        assertEquals(24 + 16 * 12, bc.blockOutputChannels(0));
        assertEquals(108, bc.blockInputChannels(1));
        assertEquals(Stem.CIFAR, bc.stem());
        assertEquals(bc, DenseNetConfig.preset("densenet-bc-100-12"));
    }

    @Test
    void namedCifarNetworksBeyondThePresetsParse() {
        DenseNetConfig c = DenseNetConfig.preset("DenseNet-BC-52-16");
        assertArrayEquals(new int[]{8, 8, 8}, c.blockSizes());
        assertEquals(16, c.growthRate());
        assertEquals(0.5, c.compression());
    }

    @Test
    void aNetworkIsNamedByItsShape() {
        for (String preset : DenseNetConfig.presetNames()) {
            assertEquals(preset, DenseNetConfig.preset(preset).name(), "a preset is named as such");
        }
        // classes, input channels and dropout do not change the name
        assertEquals("densenet169", DenseNetConfig.preset("densenet169").withClasses(17).withInChannels(1).withDropout(0.2).name());
        assertEquals("densenet-bc-52-16", DenseNetConfig.preset("densenet-bc-52-16").withClasses(100).name());
        assertEquals("densenet-13-5", DenseNetConfig.cifar(13, 5, false, 1.0, 0.0, 10).name());
        // off Huang et al.'s rules: compression without bottleneck, unequal blocks, another initial width
        assertEquals("densenet", DenseNetConfig.cifar(13, 5, false, 0.5, 0.0, 10).name());
        assertEquals("densenet", new DenseNetConfig(new int[]{2, 3}, 4, 4, 0.5, 0.0, Stem.CIFAR, 8, 5, 3).name());
        assertEquals("densenet", new DenseNetConfig(new int[]{2, 2, 2}, 4, 4, 0.5, 0.0, Stem.CIFAR, 9, 5, 3).name());
    }

    @Test
    void invalidDepthExplainsTheRule() {
        var e = assertThrows(IllegalArgumentException.class, () -> DenseNetConfig.cifar(41, 12, false, 1, 0, 10));
        assertTrue(e.getMessage().contains("depth 41 is not 3n+4"), e.getMessage());
        assertTrue(e.getMessage().contains("try depth 40 or 43"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DenseNetConfig.cifar(101, 12, true, 0.5, 0, 10));
        assertTrue(e.getMessage().contains("depth 101 is not 6n+4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DenseNetConfig.cifar(4, 12, false, 1, 0, 10));
    }

    @Test
    void unknownPresetListsTheValidNames() {
        var e = assertThrows(IllegalArgumentException.class, () -> DenseNetConfig.preset("densenet122"));
        for (String name : List.of("densenet121", "densenet-bc-100-12", "densenet264")) {
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
    }

    @Test
    void invalidFieldsAreRejectedWithTheirName() {
        DenseNetConfig ok = DenseNetConfig.preset("densenet121");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ok.withDropout(1.0)).getMessage().contains("dropout"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ok.withClasses(0)).getMessage().contains("classes"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new DenseNetConfig(new int[]{2, 0}, 12, 4, 0.5, 0, Stem.CIFAR, 24, 10, 3)).getMessage().contains("block 2"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new DenseNetConfig(new int[]{2}, 12, 4, 0, 0, Stem.CIFAR, 24, 10, 3)).getMessage().contains("compression"));
    }

    @Test
    void blockSizesCannotBeChangedFromOutside() {
        int[] sizes = {1, 2};
        DenseNetConfig c = new DenseNetConfig(sizes, 4, 0, 1, 0, Stem.CIFAR, 8, 10, 3);
        sizes[0] = 7;
        c.blockSizes()[1] = 9;
        assertArrayEquals(new int[]{1, 2}, c.blockSizes());
    }

    @Test
    void withersChangeOnlyTheirField() {
        DenseNetConfig c = DenseNetConfig.preset("densenet121").withClasses(10).withInChannels(1).withDropout(0.2);
        assertEquals(10, c.numClasses());
        assertEquals(1, c.inChannels());
        assertEquals(0.2, c.dropout());
        assertEquals(7_978_856L - 1024 * 990 - 990 - 64 * 2 * 49, c.parameterCount());
    }

    @Test
    void featureSizesFollowTheStemAndTransitions() {
        DenseNetConfig imagenet = DenseNetConfig.preset("densenet121");
        assertEquals(56, imagenet.featureSize(0, 224));
        assertEquals(7, imagenet.featureSize(3, 224));
        assertEquals(1, imagenet.featureSize(3, 29));
        assertThrows(IllegalArgumentException.class, () -> imagenet.featureSize(0, 28));
        DenseNetConfig cifar = DenseNetConfig.preset("densenet-40-12");
        assertEquals(8, cifar.featureSize(2, 32));
        assertThrows(IllegalArgumentException.class, () -> cifar.featureSize(0, 3));
    }
}
