package org.densenet.model;

import org.densenet.engine.Backend;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Tensor;

/** torchvision's _Transition: BN-ReLU, 1x1 convolution to floor(compression * C) channels, 2x2 average pooling. */
final class Transition {
    private static final Pool2d POOL = new Pool2d(2, 2, 0);

    /**
     * x [N, C, H, W] the block output with batch statistics mean/var [C] (computed here unless
     * statsReady); normOut like x; convOut [N, C', H, W]; out [N, C', H/2, W/2], the next block's input.
     * dConvOut and dNormOut, gradient buffers like convOut and normOut, are null for inference.
     */
    record Acts(Tensor x, Tensor mean, Tensor var, boolean statsReady, Tensor normOut, Tensor convOut, Tensor out,
                Tensor dConvOut, Tensor dNormOut) {
    }

    private final Backend backend;
    private final BatchNorm norm;
    private final Conv conv;

    Transition(Backend backend, Parameters params, String name, int in, int out) {
        this.backend = backend;
        this.norm = new BatchNorm(backend, params, name + ".norm", in);
        this.conv = new Conv(backend, params, name + ".conv", out, in, 1, 1, 0);
    }

    void forward(Acts a, boolean training) {
        if (training) norm.forwardTrain(a.x, a.mean, a.var, a.statsReady, a.normOut);
        else norm.forwardEval(a.x, a.normOut);
        conv.forward(a.normOut, a.convOut);
        backend.avgPoolForward(a.convOut, a.out, POOL);
    }

    /**
     * dOut: gradient wrt out; dx (overwritten): gradient wrt x. With {@code recompute}, normOut is
     * rebuilt first (it was kept in a scratch buffer that later layers overwrote).
     */
    /** Where this transition's parameters start in the flat buffers: its norm's, registered first. */
    long firstOffset() {
        return norm.firstOffset();
    }

    void backward(Acts a, Tensor dOut, Tensor dx, boolean recompute) {
        backend.avgPoolBackward(dOut, a.dConvOut, POOL, false);
        if (recompute) norm.apply(a.x, a.mean, a.var, a.normOut);
        conv.backwardFilter(a.normOut, a.dConvOut);
        conv.backwardData(a.dConvOut, a.dNormOut);
        norm.backward(a.x, a.dNormOut, a.mean, a.var, dx, false);
    }
}
