package org.densenet.model;

import org.densenet.engine.Backend;
import org.densenet.engine.Tensor;

/** What follows the last block: features.norm5 with ReLU, global average pooling, the classifier. */
final class Head {

    /**
     * x [N, C, H, W] the last block's output with batch statistics mean/var [C] (computed here unless
     * statsReady); normOut like x; pooled [N, C]; logits [N, classes]. dPooled and dNormOut, gradient
     * buffers like pooled and normOut, are null for inference.
     */
    record Acts(Tensor x, Tensor mean, Tensor var, boolean statsReady, Tensor normOut, Tensor pooled, Tensor logits,
                Tensor dPooled, Tensor dNormOut) {
    }

    private final Backend backend;
    private final BatchNorm norm5;
    private final Linear classifier;

    Head(Backend backend, Parameters params, int channels, int classes) {
        this.backend = backend;
        this.norm5 = new BatchNorm(backend, params, "features.norm5", channels);
        this.classifier = new Linear(backend, params, "classifier", classes, channels);
    }

    void forward(Acts a, boolean training) {
        if (training) norm5.forwardTrain(a.x, a.mean, a.var, a.statsReady, a.normOut);
        else norm5.forwardEval(a.x, a.normOut);
        backend.globalAvgPoolForward(a.normOut, a.pooled);
        classifier.forward(a.pooled, a.logits);
    }

    /** Where the head's parameters start in the flat buffers: norm5's, registered before the classifier. */
    long firstOffset() {
        return norm5.firstOffset();
    }

    /** Neither pooling nor BN backward needs normOut, so nothing is recomputed. dx is overwritten. */
    void backward(Acts a, Tensor dLogits, Tensor dx) {
        classifier.backward(a.pooled, dLogits, a.dPooled);
        backend.globalAvgPoolBackward(a.dPooled, a.dNormOut, false);
        norm5.backward(a.x, a.dNormOut, a.mean, a.var, dx, false);
    }
}
