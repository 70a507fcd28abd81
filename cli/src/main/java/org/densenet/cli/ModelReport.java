package org.densenet.cli;

import java.util.ArrayList;
import java.util.List;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.Stem;

/**
 * Size and cost of a DenseNet, stage by stage: parameters (as PyTorch counts them) and
 * multiply-accumulates of the convolutions and the classifier for one image (the "FLOPs" of
 * the paper and of torchvision's tables; batch norm, ReLU and pooling are not counted).
 */
record ModelReport(List<Stage> stages, long parameters, long macs) {
    /** One row of the table: a stem, dense block, transition or the classifier. */
    record Stage(String name, int layers, int inChannels, int outChannels, int outSize, long parameters, long macs) {
    }

    static ModelReport of(DenseNetConfig c, int imageSize) {
        List<Stage> st = new ArrayList<>();
        int k = c.growthRate(), in = c.inChannels(), init = c.initFeatures();
        int size0 = c.featureSize(0, imageSize);
        if (c.stem() == Stem.CIFAR) {
            st.add(new Stage("stem conv3x3", 1, in, init, size0, 9L * in * init, 9L * in * init * size0 * size0));
        } else {
            int convOut = (imageSize + 6 - 7) / 2 + 1;
            st.add(new Stage("stem conv7x7/2, pool", 1, in, init, size0, 49L * in * init + 2L * init,
                    49L * in * init * convOut * convOut));
        }
        for (int b = 0; b < c.blockCount(); b++) {
            int s = c.featureSize(b, imageSize);
            long hw = (long) s * s, params = 0, macs = 0;
            int ch = c.blockInputChannels(b);
            for (int l = 0; l < c.layers(b); l++, ch += k) {
                params += 2L * ch;
                if (c.bottleneck()) {
                    int w = c.bottleneckChannels();
                    params += (long) ch * w + 2L * w + 9L * w * k;
                    macs += ((long) ch * w + 9L * w * k) * hw;
                } else {
                    params += 9L * ch * k;
                    macs += 9L * ch * k * hw;
                }
            }
            st.add(new Stage("dense block " + (b + 1), c.layers(b), c.blockInputChannels(b), ch, s, params, macs));
            if (b < c.blockCount() - 1) {
                int out = c.blockInputChannels(b + 1);
                st.add(new Stage("transition " + (b + 1), 1, ch, out, c.featureSize(b + 1, imageSize),
                        2L * ch + (long) ch * out, (long) ch * out * hw));
            }
        }
        int f = c.finalChannels();
        st.add(new Stage("norm, pool, linear", 1, f, c.numClasses(), 1, 2L * f + (long) f * c.numClasses() + c.numClasses(),
                (long) f * c.numClasses()));
        long p = 0, m = 0;
        for (Stage s : st) {
            p += s.parameters();
            m += s.macs();
        }
        return new ModelReport(List.copyOf(st), p, m);
    }
}
