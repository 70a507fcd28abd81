package org.densenet.engine;

/**
 * Element types. The CUDA backend computes in {@link #F32}; {@link #F64} exists on the CPU for
 * gradient checks; {@link #BF16} and {@link #F16} are the 16-bit storage of a GPU's activations with
 * {@code --precision bf16|fp16} ({@link Backend#activationDType()}), always computed on in float32.
 */
public enum DType {
    F32(4),
    F64(8),
    /** Labels and indices. */
    I32(4),
    /** bfloat16: float32's upper half (8 exponent bits, 7 mantissa bits). GPU storage only. */
    BF16(2),
    /** IEEE binary16 (5 exponent bits, 10 mantissa bits). GPU storage only. */
    F16(2);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public boolean isFloating() {
        return this != I32;
    }

    /** Whether this is one of the 16-bit storage types. */
    public boolean isSixteenBit() {
        return this == BF16 || this == F16;
    }

    /** The storage type of a precision's activations: BF16, F16, or F32 for FP32 and TF32. */
    public static DType activations(Precision p) {
        return switch (p) {
            case BF16 -> BF16;
            case FP16 -> F16;
            default -> F32;
        };
    }
}
