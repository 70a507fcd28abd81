package org.densenet.engine.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Each expected value below is worked out by hand in the comment beside it. */
class OpCostsTest {

    @Test
    void convForwardCountsTwoFlopsPerMultiplyAddAndEachOperandOnce() {
        // x [2,3,8,8] = 384, w [4,3,3,3] = 108, y [2,4,8,8] = 512; MACs = 512 * 27 = 13824
        assertEquals(new OpCost(27_648, 4 * (384 + 108 + 512)),
                OpCosts.convForward(new int[] {2, 3, 8, 8}, new int[] {4, 3, 3, 3}, new int[] {2, 4, 8, 8}, 4, false));
        // accumulating: one add per output, and y is read as well as written
        assertEquals(new OpCost(27_648 + 512, 4 * (384 + 108 + 2 * 512)),
                OpCosts.convForward(new int[] {2, 3, 8, 8}, new int[] {4, 3, 3, 3}, new int[] {2, 4, 8, 8}, 4, true));
    }

    @Test
    void bottleneckConvOfDenseNetBc100MatchesHandCount() {
        // block 1, layer 1 of densenet-bc-100-12 at batch 64: 24 -> 48 channels, 1x1, 32x32
        // MACs = 64*48*32*32 * 24 = 75,497,472; elements x 1,572,864 + w 1,152 + y 3,145,728 = 4,719,744
        assertEquals(new OpCost(150_994_944L, 18_878_976L),
                OpCosts.convForward(new int[] {64, 24, 32, 32}, new int[] {48, 24, 1, 1}, new int[] {64, 48, 32, 32}, 4, false));
    }

    @Test
    void convBackwardPassesDoTheForwardProducts() {
        int[] x = {2, 3, 8, 8}, w = {4, 3, 3, 3}, y = {2, 4, 8, 8};
        assertEquals(new OpCost(27_648, 4 * (512 + 108 + 384)), OpCosts.convBackwardData(y, w, x, 4, false));
        assertEquals(new OpCost(27_648, 4 * (384 + 512 + 108)), OpCosts.convBackwardFilter(x, y, w, 4, false));
        // float64: 8 bytes per element
        assertEquals(new OpCost(27_648 + 108, 8 * (384 + 512 + 2 * 108)), OpCosts.convBackwardFilter(x, y, w, 8, true));
    }

    @Test
    void batchNormCounts() {
        int[] x = {2, 3, 4, 4}; // 96 elements, 3 channels
        assertEquals(new OpCost(288, 4 * (96 + 6)), OpCosts.batchNormStatistics(x, 4));
        assertEquals(new OpCost(192, 4 * (2 * 96 + 12)), OpCosts.batchNormApply(x, false, 4));
        assertEquals(new OpCost(288, 4 * (2 * 96 + 12)), OpCosts.batchNormApply(x, true, 4));
        // backward: 9 per element, 13 with the ReLU mask; reads x, dy, writes dx, plus 6 vectors of 3
        assertEquals(new OpCost(864, 4 * (3 * 96 + 18)), OpCosts.batchNormBackward(x, false, false, 4));
        assertEquals(new OpCost(1248 + 96, 4 * (4 * 96 + 18)), OpCosts.batchNormBackward(x, true, true, 4));
        assertEquals(new OpCost(21, 4 * 18), OpCosts.batchNormUpdateRunning(3, 4));
    }

    @Test
    void poolingCounts() {
        // avg 2x2/2 of [2,3,4,4] -> [2,3,2,2]: 24 outputs * 4
        assertEquals(new OpCost(96, 4 * (96 + 24)), OpCosts.avgPoolForward(new int[] {2, 3, 4, 4}, new int[] {2, 3, 2, 2}, 2, 4));
        assertEquals(new OpCost(96, 4 * (24 + 96)), OpCosts.avgPoolBackward(new int[] {2, 3, 2, 2}, new int[] {2, 3, 4, 4}, 2, false, 4));
        // max 3x3/2 pad 1 of [1,2,8,8] -> [1,2,4,4]: 32 outputs * 8 comparisons
        assertEquals(new OpCost(256, 4 * (128 + 32)), OpCosts.maxPoolForward(new int[] {1, 2, 8, 8}, new int[] {1, 2, 4, 4}, 3, 4));
        // backward: 32 * 9 comparisons; reads x 128, y 32, dy 32, writes dx 128
        assertEquals(new OpCost(288, 4 * (128 + 64 + 128)), OpCosts.maxPoolBackward(new int[] {1, 2, 8, 8}, new int[] {1, 2, 4, 4}, new int[] {1, 2, 8, 8}, 3, false, 4));
        // global average of [2,3,4,4] -> [2,3]
        assertEquals(new OpCost(96, 4 * (96 + 6)), OpCosts.globalAvgPoolForward(new int[] {2, 3, 4, 4}, 4));
        assertEquals(new OpCost(6, 4 * (6 + 96)), OpCosts.globalAvgPoolBackward(new int[] {2, 3, 4, 4}, false, 4));
    }

    @Test
    void linearLossAndOptimiserCounts() {
        // x [4,10], w [3,10]: 2*4*10*3 = 240 + bias 12
        assertEquals(new OpCost(252, 4 * (40 + 30 + 3 + 12)), OpCosts.linearForward(4, 10, 3, 4));
        // dw 240 + db 12 + dx 240; reads x 40, dy 12, w 30, writes dw 30, db 3, dx 40
        assertEquals(new OpCost(492, 4 * 155), OpCosts.linearBackward(4, 10, 3, true, 4));
        assertEquals(new OpCost(252, 4 * 85), OpCosts.linearBackward(4, 10, 3, false, 4));
        // 40 logits: 6 each with the gradient; logits read, gradient written, 4 int labels
        assertEquals(new OpCost(240, 4 * 80 + 16), OpCosts.softmaxCrossEntropy(4, 10, true, 4));
        assertEquals(new OpCost(160, 4 * 40 + 16), OpCosts.softmaxCrossEntropy(4, 10, false, 4));
        // Nesterov with weight decay: 8 per parameter; p, g, buf read, p, buf written
        assertEquals(new OpCost(800, 4 * 500), OpCosts.sgdStep(100, 1e-4, 0.9, true, 4));
        assertEquals(new OpCost(200, 4 * 300), OpCosts.sgdStep(100, 0, 0, false, 4));
    }

    @Test
    void elementwiseCounts() {
        int[] s = {2, 5};
        assertEquals(new OpCost(10, 80), OpCosts.relu(s, 4));
        assertEquals(new OpCost(20, 4 * 40), OpCosts.reluBackward(s, true, 4));
        assertEquals(new OpCost(0, 80), OpCosts.copy(s, false, 4));
        assertEquals(new OpCost(10, 120), OpCosts.copy(s, true, 4));
        assertEquals(new OpCost(0, 40), OpCosts.fill(s, 4));
        assertEquals(new OpCost(20, 120), OpCosts.dropoutForward(s, 4));
    }
}
