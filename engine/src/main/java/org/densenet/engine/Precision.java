package org.densenet.engine;

import java.util.Locale;

/**
 * How a run computes: {@link #FP32} everywhere; {@link #TF32} lets a GPU's convolutions and matrix
 * products round their inputs to TF32; {@link #BF16} and {@link #FP16} store activations and their
 * gradients in 16 bits, with FP32 arithmetic, FP32 batch-norm statistics and parameters, FP32 loss
 * and optimizer, and FP32 master weights whose 16-bit copy the convolutions read. FP16 also scales
 * the loss ({@code LossScaler}); BF16 has FP32's range and needs none.
 */
public enum Precision {
    FP32, TF32, BF16, FP16;

    /** "fp32", as the command line spells it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether activations are stored in 16 bits. */
    public boolean sixteenBit() {
        return this == BF16 || this == FP16;
    }

    /** Rounds one value to this precision's activation storage (round to nearest even); FP32 and TF32 store float32. */
    public float round(float v) {
        return switch (this) {
            case BF16 -> Float16.roundBf16(v);
            case FP16 -> Float16.roundFp16(v);
            default -> v;
        };
    }

    public static Precision parse(String s) {
        String key = s == null ? "" : s.strip().toUpperCase(Locale.ROOT);
        for (Precision p : values()) if (p.name().equals(key)) return p;
        throw new IllegalArgumentException("precision '" + s + "' is not one of fp32, tf32, bf16, fp16");
    }
}
