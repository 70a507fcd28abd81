package org.densenet.train;

import org.densenet.train.data.DatasetKind;

/**
 * The paper's training settings for a dataset (Huang et al., section 4.2): SGD with Nesterov
 * momentum 0.9 and weight decay 1e-4; CIFAR and SVHN-style small images 300 epochs at batch 64,
 * ImageNet 90 epochs at batch 256; learning rate 0.1, divided by 10 at 50% and 75% of the
 * epochs (ImageNet: at epochs 30 and 60). Every value can be overridden on the command line.
 */
public record Recipe(int epochs, int batchSize, double lr, double momentum, double weightDecay, double[] milestoneFractions) {
    public static Recipe of(DatasetKind kind) {
        return kind.isImageNet()
                ? new Recipe(90, 256, 0.1, 0.9, 1e-4, new double[] {30.0 / 90, 60.0 / 90})
                : new Recipe(300, 64, 0.1, 0.9, 1e-4, new double[] {0.5, 0.75});
    }
}
