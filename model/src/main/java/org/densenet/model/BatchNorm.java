package org.densenet.model;

import org.densenet.engine.Backend;
import org.densenet.engine.Tensor;

/**
 * BatchNorm2d followed by ReLU (every BN in a DenseNet is). Training mode normalises with batch
 * statistics, which the caller may have computed already (the shared dense block computes each
 * channel's once), and moves the running statistics as PyTorch does; inference uses the running ones.
 */
final class BatchNorm {
    static final double EPS = DenseNet.BATCH_NORM_EPS;
    static final double MOMENTUM = 0.1;

    private final Backend backend;
    private final Parameters params;
    private final Parameters.NormState state;
    private final int channels;

    BatchNorm(Backend backend, Parameters params, String name, int channels) {
        this.backend = backend;
        this.params = params;
        this.state = params.batchNorm(name, channels);
        this.channels = channels;
    }

    int channels() {
        return channels;
    }

    /** Where this BN's first parameter (gamma, registered first) starts in the flat buffers. */
    long firstOffset() {
        return state.gamma().param().offset();
    }

    /**
     * y = relu(bn(x)) with the batch statistics {@code mean, var} of x ([C]); computes them first
     * unless {@code statsReady}. Updates running_mean/var; num_batches_tracked, which the host keeps,
     * is counted by {@link DenseNet} once per training step (a replayed step runs none of this code).
     */
    void forwardTrain(Tensor x, Tensor mean, Tensor var, boolean statsReady, Tensor y) {
        backend.batchNormApplyTraining(x, mean, var, statsReady, state.gamma().value(), state.beta().value(), EPS, true, y,
                MOMENTUM, state.runningMean(), state.runningVar());
    }

    /** y = relu(bn(x)) with the running statistics. */
    void forwardEval(Tensor x, Tensor y) {
        apply(x, state.runningMean(), state.runningVar(), y);
    }

    /** Recomputes a training-mode output from statistics kept since the forward. */
    void apply(Tensor x, Tensor mean, Tensor var, Tensor y) {
        backend.batchNormApply(x, mean, var, state.gamma().value(), state.beta().value(), EPS, true, y);
    }

    /** Overwrites the gradients of gamma and beta; dx is overwritten or accumulated into. */
    void backward(Tensor x, Tensor dy, Tensor mean, Tensor var, Tensor dx, boolean accumulate) {
        backend.batchNormBackward(x, dy, mean, var, state.gamma().value(), state.beta().value(), EPS, true,
                dx, accumulate, state.gamma().grad(), state.beta().grad());
    }
}
