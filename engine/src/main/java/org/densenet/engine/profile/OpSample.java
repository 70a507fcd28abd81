package org.densenet.engine.profile;

/**
 * One recorded backend call: the op's name (e.g. "conv_fwd", "bn_relu_apply"), the scope it ran
 * in, its operand shapes as text, its cost, its measured time and the kernels the backend launched
 * for it ({@link org.densenet.engine.Backend#kernelLaunches()}).
 */
public record OpSample(String op, String scope, String shapes, OpCost cost, long nanos, int kernels) {
    public OpSample {
        if (op == null || op.isBlank()) throw new IllegalArgumentException("op name must not be blank");
        if (scope == null || shapes == null || cost == null) throw new IllegalArgumentException("op sample fields must not be null");
        if (nanos < 0) throw new IllegalArgumentException("op time must be >= 0, got " + nanos + " ns");
        if (kernels < 0) throw new IllegalArgumentException("kernel launches must be >= 0, got " + kernels);
    }
}
