package org.densenet.model;

import org.densenet.engine.Backend;
import org.densenet.engine.Tensor;

/**
 * One dense layer as torchvision's _DenseLayer: BN-ReLU-conv1x1 (bottleneck, bnSize*k channels)
 * -BN-ReLU-conv3x3 (k channels), then dropout; without bottleneck, BN-ReLU-conv3x3 named
 * norm1/conv1. Where the input, the intermediate outputs and the gradients live is the caller's
 * choice ({@link Acts}, {@link Grads}): that is all the memory modes differ in.
 */
final class DenseLayer {

    /**
     * One forward's tensors. x is [N, C_l, H, W] (a concatenation, or a view of the block storage);
     * mean1/var1 [C_l] its batch statistics; norm1Out like x; bottleneck and norm2Out [N, bnSize*k, H, W]
     * with mean2/var2 [bnSize*k] (all null without bottleneck); preDropout and mask [N, k, H, W]
     * (null without dropout); out [N, k, H, W] the new feature maps.
     */
    record Acts(Tensor x, Tensor mean1, Tensor var1, Tensor norm1Out, Tensor bottleneck, Tensor mean2, Tensor var2,
                Tensor norm2Out, Tensor preDropout, Tensor mask, Tensor out) {
    }

    /** Gradient buffers: wrt preDropout, norm2Out, bottleneck (null where unused) and norm1Out. */
    record Grads(Tensor dPreDropout, Tensor dNorm2Out, Tensor dBottleneck, Tensor dNorm1Out) {
    }

    private final Backend backend;
    private final BatchNorm norm1;
    private final Conv conv1;
    private final BatchNorm norm2;
    private final Conv conv2;
    private final double dropout;

    DenseLayer(Backend backend, Parameters params, String name, int inChannels, int growth, int bnSize, double dropout) {
        this.backend = backend;
        this.dropout = dropout;
        this.norm1 = new BatchNorm(backend, params, name + ".norm1", inChannels);
        if (bnSize > 0) {
            this.conv1 = new Conv(backend, params, name + ".conv1", bnSize * growth, inChannels, 1, 1, 0);
            this.norm2 = new BatchNorm(backend, params, name + ".norm2", bnSize * growth);
            this.conv2 = new Conv(backend, params, name + ".conv2", growth, bnSize * growth, 3, 1, 1);
        } else {
            this.conv1 = new Conv(backend, params, name + ".conv1", growth, inChannels, 3, 1, 1);
            this.norm2 = null;
            this.conv2 = null;
        }
    }

    /** Where this layer's parameters start in the flat buffers: norm1's, registered first. */
    long firstOffset() {
        return norm1.firstOffset();
    }

    boolean hasBottleneck() {
        return norm2 != null;
    }

    boolean hasDropout() {
        return dropout > 0;
    }

    /** {@code statsReady}: a.mean1/var1 already hold x's batch statistics (training only). */
    void forward(Acts a, boolean training, boolean statsReady, Tensor dropoutSeed) {
        if (training) norm1.forwardTrain(a.x, a.mean1, a.var1, statsReady, a.norm1Out);
        else norm1.forwardEval(a.x, a.norm1Out);
        boolean drop = training && dropout > 0;
        Tensor convOut = drop ? a.preDropout : a.out;
        if (norm2 != null) {
            conv1.forward(a.norm1Out, a.bottleneck);
            if (training) norm2.forwardTrain(a.bottleneck, a.mean2, a.var2, false, a.norm2Out);
            else norm2.forwardEval(a.bottleneck, a.norm2Out);
            conv2.forward(a.norm2Out, convOut);
        } else {
            conv1.forward(a.norm1Out, convOut);
        }
        if (drop) backend.dropoutForward(a.preDropout, a.out, a.mask, dropout, dropoutSeed);
    }

    /**
     * Backward of a training forward. dOut [N, k, H, W] is the complete gradient wrt this layer's
     * output; the gradient wrt x goes to dx (added when {@code accumulateDx}). With {@code recompute}
     * the BN-ReLU outputs and the dropout mask are rebuilt first, because they were kept in scratch
     * buffers that later layers overwrote; with {@code recomputeBottleneck} also the bottleneck
     * (conv1) output, from norm1's rebuilt output, which then stays valid for conv1's own backward.
     */
    void backward(Acts a, Grads g, Tensor dOut, Tensor dx, boolean accumulateDx, boolean recompute, boolean recomputeBottleneck,
                  Tensor dropoutSeed) {
        if (recomputeBottleneck && !recompute) throw new IllegalArgumentException("the bottleneck is recomputed from a recomputed norm1 output");
        boolean rebuildBottleneck = recomputeBottleneck && norm2 != null;
        if (rebuildBottleneck) {
            norm1.apply(a.x, a.mean1, a.var1, a.norm1Out);
            conv1.forward(a.norm1Out, a.bottleneck);
        }
        Tensor d = dOut;
        if (dropout > 0) {
            // the mask depends only on the seed; the regenerated values land in a throwaway buffer
            if (recompute) backend.dropoutForward(a.out, a.preDropout, a.mask, dropout, dropoutSeed);
            backend.dropoutBackward(dOut, a.mask, g.dPreDropout, false);
            d = g.dPreDropout;
        }
        if (norm2 != null) {
            if (recompute) norm2.apply(a.bottleneck, a.mean2, a.var2, a.norm2Out);
            conv2.backwardFilter(a.norm2Out, d);
            conv2.backwardData(d, g.dNorm2Out);
            norm2.backward(a.bottleneck, g.dNorm2Out, a.mean2, a.var2, g.dBottleneck, false);
            d = g.dBottleneck;
        }
        if (recompute && !rebuildBottleneck) norm1.apply(a.x, a.mean1, a.var1, a.norm1Out);
        conv1.backwardFilter(a.norm1Out, d);
        conv1.backwardData(d, g.dNorm1Out);
        norm1.backward(a.x, g.dNorm1Out, a.mean1, a.var1, dx, accumulateDx);
    }
}
