package org.densenet.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;

/**
 * The activation memory of one input shape: tensors kept from forward to backward, and one
 * scratch buffer per {@link Role} that every layer reuses (sized by {@link MemoryPlanner} for the
 * widest use). Scratch contents live only until the next use of the same role, which is why the
 * shared modes recompute what it keeps there. Activations and their gradients ({@link #kept} of
 * [N, C, H, W], every role but {@link Role#MASK}) are of the activation type, which a GPU in
 * 16-bit training stores in BF16 or F16; per-channel statistics, the pooled features, the logits
 * and dropout masks ({@link #keptFloat}) are of the model's own type.
 */
final class Workspace implements AutoCloseable {

    /** Scratch buffers by purpose; each is one allocation, reused by every layer. */
    enum Role {
        /** BN-ReLU output of a block-wide input: norm1 of a dense layer, a transition's norm, norm5 (shared mode). */
        NORM,
        /** Gradient wrt a NORM output (every mode); also the gradient wrt the ImageNet stem's norm0 output. */
        NORM_GRAD,
        /** BN-ReLU output of a bottleneck (norm2), a transition's convolution output (shared mode). */
        INNER,
        /** Gradient wrt an INNER output (every mode); also the gradient wrt the ImageNet stem's conv0 output. */
        INNER_GRAD,
        /** Gradient wrt a bottleneck conv1 output, or wrt a layer's pre-dropout output; in the shared forward, that pre-dropout output. */
        LAYER_GRAD,
        /** A dense layer's dropout mask, regenerated from its seed in backward (shared mode). */
        MASK,
        /** A bottleneck conv1 output in inference, when nothing is kept for backward (shared modes), and in training with recompute. */
        BOTTLENECK,
        /** Gradient wrt a layer's concatenated input before it is split among the earlier feature maps (naive mode). */
        CONCAT_GRAD
    }

    private final Backend backend;
    private final DType dtype;
    private final DType activations;
    private final int[] shapeKey;
    private final Tensor[] scratch = new Tensor[Role.values().length];
    private final List<Tensor> kept = new ArrayList<>();

    /**
     * {@code scratchElements[role.ordinal()]}: capacity of each role, 0 where unused; {@code activations}
     * the type of activations and their gradients, {@code dtype} that of everything else.
     */
    Workspace(Backend backend, DType dtype, DType activations, int[] shapeKey, long[] scratchElements) {
        this.backend = backend;
        this.dtype = dtype;
        this.activations = activations;
        this.shapeKey = shapeKey.clone();
        for (Role r : Role.values()) {
            long n = scratchElements[r.ordinal()];
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("scratch " + r + " of " + n + " elements is too large for one buffer");
            if (n > 0) scratch[r.ordinal()] = backend.allocate(r == Role.MASK ? dtype : activations, (int) n);
        }
    }

    /** True when this workspace was made for inputs of this [N, C, H, W] shape. */
    boolean fits(int[] inputShape) {
        return Arrays.equals(shapeKey, inputShape);
    }

    /** An activation [N, C, H, W] (or its gradient) that lives as long as the workspace, of the activation type. */
    Tensor kept(int n, int c, int h, int w) {
        return keep(activations, n, c, h, w);
    }

    /** A tensor of the model's type (statistics [C], features and logits [N, K], dropout masks) that lives as long as the workspace. */
    Tensor keptFloat(int... shape) {
        return keep(dtype, shape);
    }

    private Tensor keep(DType type, int... shape) {
        Tensor t = backend.allocate(type, shape);
        kept.add(t);
        return t;
    }

    /** A contiguous view at the start of a role's buffer; valid until the next use of that role. */
    Tensor scratch(Role role, int... shape) {
        Tensor buffer = scratch[role.ordinal()];
        long n = Tensor.numel(shape);
        if (buffer == null || n > buffer.numel()) {
            throw new IllegalStateException("scratch " + role + " holds " + (buffer == null ? 0 : buffer.numel())
                    + " elements, " + Arrays.toString(shape) + " needs " + n + " (the memory plan is wrong)");
        }
        return buffer.view(0, shape, Tensor.contiguousStrides(shape));
    }

    @Override
    public void close() {
        for (Tensor t : kept) t.close();
        kept.clear();
        for (int i = 0; i < scratch.length; i++) {
            if (scratch[i] != null) scratch[i].close();
            scratch[i] = null;
        }
    }
}
