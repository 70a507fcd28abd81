package org.densenet.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.densenet.engine.io.HostTensor;
import org.densenet.model.DenseNetConfig;

/**
 * Fits a pretrained state dict to the network being fine-tuned, as timm's {@code --pretrained
 * --num-classes} does: a classifier for another number of classes is dropped (the run trains a new
 * one), and a first convolution made for RGB is summed over its input channels for grey images.
 * Each change is one line of output; anything else that differs is left for the loader to report.
 */
final class Pretrained {
    static final String CLASSIFIER_WEIGHT = "classifier.weight", CLASSIFIER_BIAS = "classifier.bias", CONV0 = "features.conv0.weight";

    private Pretrained() {
    }

    /** The network a file of ours describes in its metadata, for {@code classes} outputs and {@code channels} input channels. */
    static ModelOptions.Resolved network(Path file, Map<String, String> meta, int classes, int channels) throws IOException {
        ModelOptions.Resolved r = ModelOptions.described(file, meta);
        return new ModelOptions.Resolved(r.name(), r.config().withClasses(classes).withInChannels(channels));
    }

    /** Adapts {@code state} in place to {@code model}; returns the tensors the run initialises afresh. */
    static Set<String> adapt(Path file, Map<String, HostTensor> state, DenseNetConfig model, PrintStream out) {
        out.println("pretrained: starting from " + file + " (" + state.size() + " tensors)");
        HostTensor conv0 = state.get(CONV0);
        if (conv0 != null && conv0.shape().length == 4 && conv0.shape()[1] != model.inChannels() && model.inChannels() == 1) {
            state.put(CONV0, sumInputChannels(conv0));
            out.println("pretrained: " + CONV0 + " takes " + conv0.shape()[1] + " channels, these images 1: its weights are summed over"
                    + " the input channels");
        }
        HostTensor w = state.get(CLASSIFIER_WEIGHT);
        if (w == null || w.shape().length != 2 || w.shape()[0] == model.numClasses()) return Set.of();
        state.remove(CLASSIFIER_WEIGHT);
        state.remove(CLASSIFIER_BIAS);
        out.println("pretrained: the file's classifier has " + w.shape()[0] + " classes, this run " + model.numClasses()
                + ": a new classifier is trained (initialised as in a fresh network)");
        return Set.of(CLASSIFIER_WEIGHT, CLASSIFIER_BIAS);
    }

    /** [F, C, kh, kw] -> [F, 1, kh, kw], summing over C: a grey image is an RGB one with equal channels. */
    private static HostTensor sumInputChannels(HostTensor t) {
        int[] s = t.shape();
        int f = s[0], c = s[1], k = s[2] * s[3];
        float[] src = t.toFloatArray(), dst = new float[f * k];
        for (int o = 0; o < f; o++) {
            for (int i = 0; i < c; i++) {
                for (int j = 0; j < k; j++) dst[o * k + j] += src[(o * c + i) * k + j];
            }
        }
        return HostTensor.ofF32(dst, f, 1, s[2], s[3]);
    }
}
