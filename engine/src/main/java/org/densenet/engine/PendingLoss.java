package org.densenet.engine;

/**
 * A {@link LossResult} that may still be on its way from the device: {@link Backend#softmaxCrossEntropyAsync}
 * returns it at once, so the host can queue the backward pass, the update and the next step before it
 * reads the loss.
 */
@FunctionalInterface
public interface PendingLoss {
    /**
     * The result, waiting for the device when it has not arrived yet. Throws what
     * {@link Backend#softmaxCrossEntropy} would have thrown for a bad input the device found (a label
     * out of range), every time it is called.
     */
    LossResult get();

    /** A result that is already known. */
    static PendingLoss of(LossResult r) {
        if (r == null) throw new IllegalArgumentException("no loss result");
        return () -> r;
    }
}
