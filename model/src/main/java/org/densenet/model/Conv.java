package org.densenet.model;

import org.densenet.engine.Backend;
import org.densenet.engine.Conv2d;
import org.densenet.engine.Tensor;

/** A bias-free 2-D convolution with weight [out, in, kernel, kernel] (torchvision's nn.Conv2d(bias=False)). */
final class Conv {
    private final Backend backend;
    private final Parameters.Weight weight;
    private final Conv2d geometry;
    private final int kernel;

    Conv(Backend backend, Parameters params, String name, int out, int in, int kernel, int stride, int pad) {
        this.backend = backend;
        this.weight = params.param(name + ".weight", Parameters.Init.KAIMING_NORMAL, out, in, kernel, kernel);
        this.geometry = new Conv2d(stride, pad);
        this.kernel = kernel;
    }

    int outSize(int in) {
        return geometry.outSize(in, kernel);
    }

    void forward(Tensor x, Tensor y) {
        backend.convForward(x, weight.value(), y, geometry, false);
    }

    /** Overwrites the weight's gradient. */
    void backwardFilter(Tensor x, Tensor dy) {
        backend.convBackwardFilter(x, dy, weight.grad(), geometry, false);
    }

    void backwardData(Tensor dy, Tensor dx) {
        backend.convBackwardData(dy, weight.value(), dx, geometry, false);
    }
}
