package org.densenet.engine;

/** Element types. The CUDA backend computes in {@link #F32}; {@link #F64} exists on the CPU for gradient checks. */
public enum DType {
    F32(4),
    F64(8),
    /** Labels and indices. */
    I32(4);

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
}
