package org.densenet.model;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.densenet.engine.cuda.ConvProblem;

/**
 * The convolutions of a DenseNet's forward pass as cuDNN would see them in the shared memory mode,
 * with every dense layer's channels starting at a multiple of {@code align} in its block's storage
 * (a 16-bit layout needs 16-byte aligned channel offsets: 8 channels). A layer's k new channels
 * then take a slot of k rounded up to {@code align}, so a k=12 network carries 4 spare channels a
 * layer, which later layers read (their weights there being zero); the channel counts below count
 * those spare channels. Each distinct shape and placement appears once, in the order the network
 * runs them.
 */
public final class ConvShapes {
    private ConvShapes() {
    }

    /**
     * {@code layersPerBlock}: how many dense layers of each block to take, evenly spread from the
     * first to the last (0: all of them); the probe samples because Find over every shape would not
     * fit its time.
     */
    public static List<ConvProblem> of(String name, DenseNetConfig cfg, int batch, int imageSize, int align, int layersPerBlock) {
        if (align < 1) throw new IllegalArgumentException("channel alignment must be >= 1, got " + align);
        if (layersPerBlock < 0) throw new IllegalArgumentException("layers per block must be >= 0, got " + layersPerBlock);
        List<ConvProblem> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        int k = cfg.growthRate();
        int slot = roundUp(k, align);
        int side = imageSize;
        for (int b = 0; b < cfg.blockCount(); b++) {
            int size = cfg.featureSize(b, imageSize);
            int c0 = cfg.blockInputChannels(b);
            int first = roundUp(c0, align);
            int storage = first + cfg.layers(b) * slot;
            String block = name + " block" + (b + 1);
            if (b == 0) {
                if (cfg.stem() == Stem.CIFAR) {
                    add(out, seen, new ConvProblem(name + " conv0", batch, cfg.inChannels(), side, side, c0, 3, 3, 1, 1,
                            cfg.inChannels(), 0, storage, 0));
                } else {
                    add(out, seen, ConvProblem.packed(name + " conv0", batch, cfg.inChannels(), side, side, c0, 7, 7, 2, 3));
                }
            }
            for (int l : pick(cfg.layers(b), layersPerBlock)) {
                int in = first + l * slot; // channels before this layer's slot, spare ones included
                String layer = block + " layer" + (l + 1);
                if (cfg.bottleneck()) {
                    int bn = cfg.bottleneckChannels();
                    add(out, seen, new ConvProblem(layer + " conv1", batch, in, size, size, bn, 1, 1, 1, 0, storage, 0, bn, 0));
                    add(out, seen, new ConvProblem(layer + " conv2", batch, bn, size, size, k, 3, 3, 1, 1, bn, 0, storage, in));
                } else {
                    add(out, seen, new ConvProblem(layer + " conv", batch, in, size, size, k, 3, 3, 1, 1, storage, 0, storage, in));
                }
            }
            if (b + 1 < cfg.blockCount()) {
                int next = cfg.blockInputChannels(b + 1);
                add(out, seen, ConvProblem.packed(name + " transition" + (b + 1), batch, storage, size, size, next, 1, 1, 1, 0));
            }
        }
        return List.copyOf(out);
    }

    /** The problems of several networks taken in turn, so that a probe cut short by its time has some of each. */
    public static List<ConvProblem> interleave(List<List<ConvProblem>> lists) {
        List<ConvProblem> out = new ArrayList<>();
        for (int i = 0; ; i++) {
            boolean any = false;
            for (List<ConvProblem> l : lists) {
                if (i < l.size()) {
                    out.add(l.get(i));
                    any = true;
                }
            }
            if (!any) return List.copyOf(out);
        }
    }

    /** {@code count} layer indices of 0..n-1 evenly spread, first and last included; all when count is 0 or >= n. */
    static List<Integer> pick(int n, int count) {
        List<Integer> out = new ArrayList<>();
        if (count == 0 || count >= n) {
            for (int i = 0; i < n; i++) out.add(i);
            return out;
        }
        for (int i = 0; i < count; i++) {
            int l = count == 1 ? 0 : (int) Math.round((double) i * (n - 1) / (count - 1));
            if (!out.contains(l)) out.add(l);
        }
        return out;
    }

    private static void add(List<ConvProblem> out, Set<String> seen, ConvProblem p) {
        // the slot's offset only moves the pointer by a multiple of the alignment, which cuDNN's choice does not see
        if (seen.add(p.shape() + " storages " + p.inStorageChannels() + "/" + p.outStorageChannels())) out.add(p);
    }

    private static int roundUp(int v, int m) {
        return (v + m - 1) / m * m;
    }
}
