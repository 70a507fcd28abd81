package org.densenet.model;

import org.densenet.engine.Backend;
import org.densenet.engine.Tensor;

/** Fully connected layer, weight [out, in] and bias [out] (nn.Linear). */
final class Linear {
    private final Backend backend;
    private final Parameters.Weight weight;
    private final Parameters.Weight bias;

    Linear(Backend backend, Parameters params, String name, int out, int in) {
        this.backend = backend;
        this.weight = params.param(name + ".weight", Parameters.Init.LINEAR_UNIFORM, out, in);
        this.bias = params.param(name + ".bias", Parameters.Init.ZEROS, out);
    }

    void forward(Tensor x, Tensor y) {
        backend.linearForward(x, weight.value(), bias.value(), y);
    }

    /** Overwrites the weight and bias gradients; dx may be null. */
    void backward(Tensor x, Tensor dy, Tensor dx) {
        backend.linearBackward(x, weight.value(), dy, dx, weight.grad(), bias.grad());
    }
}
