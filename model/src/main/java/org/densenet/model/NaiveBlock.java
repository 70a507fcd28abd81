package org.densenet.model;

import java.util.function.IntFunction;
import java.util.function.LongConsumer;
import org.densenet.engine.Backend;
import org.densenet.engine.Tensor;

/**
 * The baseline dense block, as PyTorch without memory efficiency runs it: every layer copies all
 * earlier feature maps into a fresh concatenation and keeps it, its BN-ReLU output, the bottleneck
 * output and that one's BN-ReLU output until backward. Layer l keeps about 2*C_l + 2*bnSize*k + k
 * channels, so the block keeps O(L^2 k) channels.
 */
final class NaiveBlock extends DenseBlock {
    private Tensor[] features;           // features[0]: block input [N, C0, H, W]; features[l+1]: layer l's output [N, k, H, W]
    private DenseLayer.Acts[] acts;
    private DenseLayer.Grads[] grads;
    private Tensor[] concatGrads;        // [N, C_l, H, W], scratch
    private Tensor output;               // [N, C_total, H, W]: the concatenation torchvision's block returns
    private Tensor outputMean;
    private Tensor outputVar;
    private Tensor outputGrad;

    NaiveBlock(Backend backend, Parameters params, String name, DenseNetConfig config, int block) {
        super(backend, params, name, config, block);
    }

    @Override
    void prepare(Workspace ws, int n, int h, int w, boolean training) {
        int count = layers.size();
        features = new Tensor[count + 1];
        acts = new DenseLayer.Acts[count];
        grads = new DenseLayer.Grads[count];
        concatGrads = new Tensor[count];
        features[0] = ws.kept(n, inChannels, h, w);
        for (int l = 0; l < count; l++) {
            DenseLayer layer = layers.get(l);
            int c = channelsBefore(l);
            boolean bn = layer.hasBottleneck();
            boolean drop = layer.hasDropout() && training;
            features[l + 1] = ws.kept(n, growth, h, w);
            acts[l] = new DenseLayer.Acts(ws.kept(n, c, h, w), ws.keptFloat(c), ws.keptFloat(c), ws.kept(n, c, h, w),
                    bn ? ws.kept(n, bottleneck, h, w) : null, bn ? ws.keptFloat(bottleneck) : null, bn ? ws.keptFloat(bottleneck) : null,
                    bn ? ws.kept(n, bottleneck, h, w) : null,
                    drop ? ws.scratch(Workspace.Role.LAYER_GRAD, n, growth, h, w) : null,
                    drop ? ws.keptFloat(n, growth, h, w) : null, features[l + 1]);   // the mask: float32 in every precision
            if (training) {
                grads[l] = new DenseLayer.Grads(drop ? ws.scratch(Workspace.Role.LAYER_GRAD, n, growth, h, w) : null,
                        bn ? ws.scratch(Workspace.Role.INNER_GRAD, n, bottleneck, h, w) : null,
                        bn ? ws.scratch(Workspace.Role.LAYER_GRAD, n, bottleneck, h, w) : null,
                        ws.scratch(Workspace.Role.NORM_GRAD, n, c, h, w));
                concatGrads[l] = ws.scratch(Workspace.Role.CONCAT_GRAD, n, c, h, w);
            }
        }
        output = ws.kept(n, outChannels(), h, w);
        outputMean = ws.keptFloat(outChannels());
        outputVar = ws.keptFloat(outChannels());
        outputGrad = training ? ws.kept(n, outChannels(), h, w) : null;
    }

    @Override
    Tensor input() {
        return features[0];
    }

    @Override
    Tensor output() {
        return output;
    }

    @Override
    Tensor outputMean() {
        return outputMean;
    }

    @Override
    Tensor outputVar() {
        return outputVar;
    }

    @Override
    boolean outputStatsReady() {
        return false;
    }

    @Override
    Tensor outputGrad() {
        return outputGrad;
    }

    @Override
    Tensor inputGrad() {
        return outputGrad.channels(0, inChannels);
    }

    @Override
    void forward(boolean training, IntFunction<Tensor> seeds) {
        for (int l = 0; l < layers.size(); l++) {
            concatenate(l + 1, acts[l].x());
            layers.get(l).forward(acts[l], training, false, seeds.apply(l));
        }
        concatenate(layers.size() + 1, output);
    }

    /** Copies features[0..count) side by side into dst, as torch.cat(features, 1). */
    private void concatenate(int count, Tensor dst) {
        int c = 0;
        for (int j = 0; j < count; j++) {
            int width = features[j].dim(1);
            backend.copy(features[j], dst.channels(c, c + width), false);
            c += width;
        }
    }

    @Override
    void backward(IntFunction<Tensor> seeds, LongConsumer gradientsFrom) {
        for (int l = layers.size() - 1; l >= 0; l--) {
            int c = channelsBefore(l);
            layers.get(l).backward(acts[l], grads[l], outputGrad.channels(c, c + growth), concatGrads[l], false, false, false,
                    seeds.apply(l));
            // torch.cat's backward: each earlier feature map receives its slice of the gradient
            backend.copy(concatGrads[l], outputGrad.channels(0, c), true);
            gradientsFrom.accept(layers.get(l).firstOffset());
        }
    }
}
