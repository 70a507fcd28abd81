package org.densenet.model;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.LongConsumer;
import org.densenet.engine.Backend;
import org.densenet.engine.Tensor;

/**
 * torchvision's _DenseBlock: layer l sees the block input and the k new channels of every earlier
 * layer, C_l = C0 + l*k channels. The layers (and their parameters) are the same in every memory
 * mode; the subclasses decide where the feature maps and intermediate outputs live.
 *
 * <p>Life of one training step: {@link #prepare} once per input shape; the producer (stem or
 * transition) writes {@link #input()}; {@link #forward}; the consumer (transition or head) reads
 * {@link #output()} and overwrites {@link #outputGrad()}; {@link #backward}; the producer reads
 * {@link #inputGrad()}.
 */
abstract sealed class DenseBlock permits NaiveBlock, SharedBlock {
    protected final Backend backend;
    protected final List<DenseLayer> layers = new ArrayList<>();
    protected final int inChannels;
    protected final int growth;
    protected final int bottleneck;

    DenseBlock(Backend backend, Parameters params, String name, DenseNetConfig config, int block) {
        this.backend = backend;
        this.inChannels = config.blockInputChannels(block);
        this.growth = config.growthRate();
        this.bottleneck = config.bottleneckChannels();
        for (int l = 0; l < config.layers(block); l++) {
            layers.add(new DenseLayer(backend, params, name + ".denselayer" + (l + 1), channelsBefore(l), growth,
                    config.bnSize(), config.dropout()));
        }
    }

    static DenseBlock create(MemoryMode mode, Backend backend, Parameters params, String name, DenseNetConfig config, int block) {
        return switch (mode) {
            case NAIVE -> new NaiveBlock(backend, params, name, config, block);
            case SHARED, RECOMPUTE -> new SharedBlock(backend, params, name, config, block, mode.keepsBottleneck());
        };
    }

    /** Channels entering layer {@code l}: C0 + l*k. */
    final int channelsBefore(int l) {
        return inChannels + l * growth;
    }

    final int outChannels() {
        return channelsBefore(layers.size());
    }

    /** Allocates (or binds scratch views for) everything one input shape needs; gradients only if {@code training}. */
    abstract void prepare(Workspace ws, int n, int h, int w, boolean training);

    /** [N, C0, H, W]: where the producer writes the block input. */
    abstract Tensor input();

    /** [N, C0 + L*k, H, W]: every feature map of the block, after {@link #forward}. */
    abstract Tensor output();

    /** [C0 + L*k]: batch mean and variance of {@link #output()}'s channels, when {@link #outputStatsReady()}. */
    abstract Tensor outputMean();

    abstract Tensor outputVar();

    /** True when a training forward left the output's batch statistics in outputMean/outputVar. */
    abstract boolean outputStatsReady();

    /** [N, C0 + L*k, H, W]: the consumer overwrites it with the gradient wrt {@link #output()}. */
    abstract Tensor outputGrad();

    /** [N, C0, H, W]: the gradient wrt {@link #input()}, after {@link #backward}. */
    abstract Tensor inputGrad();

    /** {@code seeds}: the I32 [2] dropout seed tensor of each layer of this block, by layer index (unread without dropout). */
    abstract void forward(boolean training, IntFunction<Tensor> seeds);

    /**
     * Runs the layers' backward in reverse; after each, {@code gradientsFrom} gets the flat offset from
     * which every parameter gradient is final (that layer's first), as {@link DenseNet#backward(Tensor, LongConsumer)} says.
     */
    abstract void backward(IntFunction<Tensor> seeds, LongConsumer gradientsFrom);
}
