package org.densenet.engine.profile;

/**
 * The work one op must do: floating-point operations (a multiply-add counts 2) and the fewest
 * bytes it must move through device memory (each input read once, each output written once,
 * an accumulated output read and written).
 */
public record OpCost(long flops, long bytes) {
    public static final OpCost NONE = new OpCost(0, 0);

    public OpCost {
        if (flops < 0 || bytes < 0) throw new IllegalArgumentException("op cost must be >= 0, got " + flops + " FLOPs, " + bytes + " bytes");
    }

    public OpCost plus(OpCost other) {
        return new OpCost(flops + other.flops, bytes + other.bytes);
    }
}
