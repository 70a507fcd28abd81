package org.densenet.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.densenet.engine.cuda.ConvProblem;
import org.junit.jupiter.api.Test;

class ConvShapesTest {
    private static ConvProblem find(List<ConvProblem> ps, String label) {
        return ps.stream().filter(p -> p.label().equals(label)).findFirst().orElseThrow(() -> new AssertionError("no " + label + " in " + ps));
    }

    @Test
    void bc100WithSlotsPaddedToEightChannels() {
        List<ConvProblem> ps = ConvShapes.of("bc", DenseNetConfig.preset("densenet-bc-100-12"), 64, 32, 8, 0);
        // block 1: 24 channels from the stem, then 16 layers of 12 channels in 16-channel slots: 24 + 16 * 16 = 280
        assertEquals(new ConvProblem("bc conv0", 64, 3, 32, 32, 24, 3, 3, 1, 1, 3, 0, 280, 0), find(ps, "bc conv0"));
        assertEquals(new ConvProblem("bc block1 layer1 conv1", 64, 24, 32, 32, 48, 1, 1, 1, 0, 280, 0, 48, 0), find(ps, "bc block1 layer1 conv1"));
        assertEquals(new ConvProblem("bc block1 layer16 conv1", 64, 24 + 15 * 16, 32, 32, 48, 1, 1, 1, 0, 280, 0, 48, 0),
                find(ps, "bc block1 layer16 conv1"));
        // every layer's 3x3 has the same shape and storages; only the first is kept, writing at channel 24
        assertEquals(new ConvProblem("bc block1 layer1 conv2", 64, 48, 32, 32, 12, 3, 3, 1, 1, 48, 0, 280, 24), find(ps, "bc block1 layer1 conv2"));
        assertEquals(1, ps.stream().filter(p -> p.label().startsWith("bc block1") && p.label().endsWith("conv2")).count());
        // the transition reads the whole storage, spare channels included, and gives floor(216 / 2) = 108 channels
        assertEquals(ConvProblem.packed("bc transition1", 64, 280, 32, 32, 108, 1, 1, 1, 0), find(ps, "bc transition1"));
        // block 2 starts at 112 (108 rounded up), 16x16 pixels
        assertEquals(new ConvProblem("bc block2 layer2 conv1", 64, 112 + 16, 16, 16, 48, 1, 1, 1, 0, 112 + 16 * 16, 0, 48, 0),
                find(ps, "bc block2 layer2 conv1"));
        // conv0 + 3 blocks x (16 conv1 + one conv2) + 2 transitions
        assertEquals(1 + 3 * 17 + 2, ps.size());
    }

    @Test
    void densenet121SampledThreeLayersPerBlock() {
        List<ConvProblem> ps = ConvShapes.of("d121", DenseNetConfig.preset("densenet121"), 64, 224, 8, 3);
        assertEquals(ConvProblem.packed("d121 conv0", 64, 3, 224, 224, 64, 7, 7, 2, 3), ps.getFirst());
        assertEquals(112, ps.getFirst().p());
        // block 1 at 56 pixels: layers 1, 3 (the middle of 0..5 rounds to 3 -> layer4), 6; storage 64 + 6 * 32 = 256
        assertEquals(new ConvProblem("d121 block1 layer4 conv1", 64, 64 + 3 * 32, 56, 56, 128, 1, 1, 1, 0, 256, 0, 128, 0),
                find(ps, "d121 block1 layer4 conv1"));
        find(ps, "d121 block1 layer1 conv1");
        find(ps, "d121 block1 layer6 conv1");
        find(ps, "d121 block4 layer16 conv1");
        assertEquals(7, find(ps, "d121 block4 layer1 conv1").h());
        assertEquals(ConvProblem.packed("d121 transition3", 64, 1024, 14, 14, 512, 1, 1, 1, 0), find(ps, "d121 transition3"));
        // conv0 + 4 blocks x (3 conv1 + 1 conv2) + 3 transitions
        assertEquals(1 + 4 * 4 + 3, ps.size());
        assertTrue(ps.stream().allMatch(p -> p.inChannelOffset() % 8 == 0 && p.outChannelOffset() % 8 == 0));
    }

    @Test
    void picksLayersEvenlyAndInterleavesNetworks() {
        assertEquals(List.of(0, 3, 5), ConvShapes.pick(6, 3));
        assertEquals(List.of(0, 1, 2), ConvShapes.pick(3, 5));
        assertEquals(List.of(0), ConvShapes.pick(4, 1));
        ConvProblem a1 = ConvProblem.packed("a1", 1, 1, 1, 1, 1, 1, 1, 1, 0), a2 = ConvProblem.packed("a2", 1, 1, 1, 1, 1, 1, 1, 1, 0);
        ConvProblem b1 = ConvProblem.packed("b1", 1, 1, 1, 1, 1, 1, 1, 1, 0);
        assertEquals(List.of(a1, b1, a2), ConvShapes.interleave(List.of(List.of(a1, a2), List.of(b1))));
    }
}
