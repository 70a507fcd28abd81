package org.densenet.engine;

/** Mean softmax cross-entropy over a batch, and how many samples had their label in the top 1 and top 5. */
public record LossResult(double loss, int count, int top1Correct, int top5Correct) {
    public LossResult {
        if (count < 0 || top1Correct < 0 || top1Correct > top5Correct || top5Correct > count) {
            throw new IllegalArgumentException("inconsistent loss result: count " + count + ", top1 " + top1Correct + ", top5 " + top5Correct);
        }
    }
}
