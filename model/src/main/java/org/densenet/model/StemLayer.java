package org.densenet.model;

import org.densenet.engine.Backend;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Tensor;

/**
 * The layers before the first block: features.conv0 (3x3 for CIFAR; 7x7/2 for ImageNet, then
 * features.norm0 + ReLU and a 3x3/2 max pool). Its output is written straight into the first
 * block's input.
 */
final class StemLayer {
    private static final Pool2d POOL = new Pool2d(3, 2, 1);

    /**
     * ImageNet only: conv0Out [N, F, H/2, W/2], its statistics mean0/var0 [F], norm0Out like conv0Out,
     * both kept for backward (max pooling needs its input), and gradient buffers like them (null for
     * inference). out is the first block's input. For CIFAR only out is set.
     */
    record Acts(Tensor conv0Out, Tensor mean0, Tensor var0, Tensor norm0Out, Tensor out, Tensor dConv0Out, Tensor dNorm0Out) {
    }

    private final Backend backend;
    private final Conv conv0;
    private final BatchNorm norm0;

    StemLayer(Backend backend, Parameters params, DenseNetConfig config) {
        this.backend = backend;
        boolean cifar = config.stem() == Stem.CIFAR;
        this.conv0 = cifar
                ? new Conv(backend, params, "features.conv0", config.initFeatures(), config.inChannels(), 3, 1, 1)
                : new Conv(backend, params, "features.conv0", config.initFeatures(), config.inChannels(), 7, 2, 3);
        this.norm0 = cifar ? null : new BatchNorm(backend, params, "features.norm0", config.initFeatures());
    }

    /** Side of conv0's output for an input of side {@code in} (ImageNet: before pooling). */
    int conv0Size(int in) {
        return conv0.outSize(in);
    }

    void forward(Tensor images, Acts a, boolean training) {
        if (norm0 == null) {
            conv0.forward(images, a.out);
            return;
        }
        conv0.forward(images, a.conv0Out);
        if (training) norm0.forwardTrain(a.conv0Out, a.mean0, a.var0, false, a.norm0Out);
        else norm0.forwardEval(a.conv0Out, a.norm0Out);
        backend.maxPoolForward(a.norm0Out, a.out, POOL);
    }

    /** dOut: gradient wrt out. No gradient flows to the images. */
    void backward(Tensor images, Acts a, Tensor dOut) {
        if (norm0 == null) {
            conv0.backwardFilter(images, dOut);
            return;
        }
        backend.maxPoolBackward(a.norm0Out, a.out, dOut, a.dNorm0Out, POOL, false);
        norm0.backward(a.conv0Out, a.dNorm0Out, a.mean0, a.var0, a.dConv0Out, false);
        conv0.backwardFilter(images, a.dConv0Out);
    }
}
