package org.densenet.model;

import java.util.function.IntFunction;
import java.util.function.LongConsumer;
import org.densenet.engine.Backend;
import org.densenet.engine.Tensor;

/**
 * The memory-efficient dense block (Pleiss et al., arXiv 1707.06990). One storage S [N, C0 + L*k, H, W]
 * holds every feature map: the producer writes the block input into S[:, 0:C0], layer l reads the
 * view S[:, 0:C_l] and its last convolution writes S[:, C_l:C_l+k]. There are no concatenation copies.
 *
 * <p>Kept until backward: S, the bottleneck (conv1) output of each layer (bnSize*k channels, so
 * linear in depth), and per-channel statistics. Without {@code keepBottleneck} ({@link MemoryMode#RECOMPUTE})
 * the bottleneck output goes to a scratch buffer shared by all layers and backward runs conv1
 * again to rebuild it: a second pass of a 1x1 convolution per layer for about two thirds less kept
 * memory in a BC network. Inference keeps nothing for backward, so there the bottleneck output
 * always goes to the scratch buffer. Not kept: the BN-ReLU outputs (norm1, norm2), which go to scratch buffers
 * shared by all layers and are recomputed in backward, and dropout masks, regenerated from their seed.
 *
 * <p>Each channel's batch mean and variance are computed once, when the channel is written, and
 * every later layer's norm1 reuses them: PyTorch computes the same numbers again in each layer.
 * Each layer still moves its own running statistics with them. Gradients wrt S accumulate in one
 * storage dS of the same shape, which the consumer of the block overwrites first.
 */
final class SharedBlock extends DenseBlock {
    private Tensor storage;       // S  [N, C_total, H, W]
    private Tensor storageGrad;   // dS [N, C_total, H, W]
    private Tensor mean;          // [C_total] batch statistics of S, filled as channels are written
    private Tensor var;
    private DenseLayer.Acts[] acts;
    private DenseLayer.Grads[] grads;
    private final boolean keepBottleneck;

    /** {@code keepBottleneck}: a training step keeps each layer's bottleneck output rather than recomputing it in backward. */
    SharedBlock(Backend backend, Parameters params, String name, DenseNetConfig config, int block, boolean keepBottleneck) {
        super(backend, params, name, config, block);
        this.keepBottleneck = keepBottleneck;
    }

    @Override
    void prepare(Workspace ws, int n, int h, int w, boolean training) {
        int count = layers.size();
        storage = ws.kept(n, outChannels(), h, w);
        storageGrad = training ? ws.kept(n, outChannels(), h, w) : null;
        mean = ws.keptFloat(outChannels());
        var = ws.keptFloat(outChannels());
        acts = new DenseLayer.Acts[count];
        grads = new DenseLayer.Grads[count];
        for (int l = 0; l < count; l++) {
            DenseLayer layer = layers.get(l);
            int c = channelsBefore(l);
            boolean bn = layer.hasBottleneck();
            boolean drop = layer.hasDropout() && training;
            acts[l] = new DenseLayer.Acts(storage.channels(0, c), mean.narrow(0, 0, c), var.narrow(0, 0, c),
                    ws.scratch(Workspace.Role.NORM, n, c, h, w),
                    bn ? (training && keepBottleneck ? ws.kept(n, bottleneck, h, w) : ws.scratch(Workspace.Role.BOTTLENECK, n, bottleneck, h, w)) : null,
                    bn && training ? ws.keptFloat(bottleneck) : null, bn && training ? ws.keptFloat(bottleneck) : null,
                    bn ? ws.scratch(Workspace.Role.INNER, n, bottleneck, h, w) : null,
                    drop ? ws.scratch(Workspace.Role.LAYER_GRAD, n, growth, h, w) : null,
                    drop ? ws.scratch(Workspace.Role.MASK, n, growth, h, w) : null,
                    storage.channels(c, c + growth));
            if (training) {
                grads[l] = new DenseLayer.Grads(drop ? ws.scratch(Workspace.Role.LAYER_GRAD, n, growth, h, w) : null,
                        bn ? ws.scratch(Workspace.Role.INNER_GRAD, n, bottleneck, h, w) : null,
                        bn ? ws.scratch(Workspace.Role.LAYER_GRAD, n, bottleneck, h, w) : null,
                        ws.scratch(Workspace.Role.NORM_GRAD, n, c, h, w));
            }
        }
    }

    @Override
    Tensor input() {
        return storage.channels(0, inChannels);
    }

    @Override
    Tensor output() {
        return storage;
    }

    @Override
    Tensor outputMean() {
        return mean;
    }

    @Override
    Tensor outputVar() {
        return var;
    }

    @Override
    boolean outputStatsReady() {
        return true;
    }

    @Override
    Tensor outputGrad() {
        return storageGrad;
    }

    @Override
    Tensor inputGrad() {
        return storageGrad.channels(0, inChannels);
    }

    @Override
    void forward(boolean training, IntFunction<Tensor> seeds) {
        if (training) statistics(0, inChannels);
        for (int l = 0; l < layers.size(); l++) {
            layers.get(l).forward(acts[l], training, true, seeds.apply(l));
            if (training) statistics(channelsBefore(l), growth);
        }
    }

    /** Batch statistics of the channels [from, from + count) of S, just written. */
    private void statistics(int from, int count) {
        backend.batchNormStatistics(storage.channels(from, from + count), mean.narrow(0, from, count), var.narrow(0, from, count));
    }

    @Override
    void backward(IntFunction<Tensor> seeds, LongConsumer gradientsFrom) {
        for (int l = layers.size() - 1; l >= 0; l--) {
            int c = channelsBefore(l);
            layers.get(l).backward(acts[l], grads[l], storageGrad.channels(c, c + growth), storageGrad.channels(0, c), true, true,
                    !keepBottleneck, seeds.apply(l));
            gradientsFrom.accept(layers.get(l).firstOffset());
        }
    }
}
