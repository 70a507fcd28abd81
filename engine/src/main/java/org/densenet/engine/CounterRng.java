package org.densenet.engine;

/**
 * A counter-based random number: the value for (seed, index) depends on nothing else, so the CPU
 * and GPU backends draw identical dropout masks and augmentations. The CUDA kernels implement
 * the same function (kernels/src/main/cuda/common.cuh); keep the two in step.
 */
public final class CounterRng {
    private CounterRng() {
    }

    /** SplitMix64 finaliser of seed + (index + 1) * golden ratio. */
    public static long bits(long seed, long index) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 24 bits, exactly representable in float32. */
    public static float uniform(long seed, long index) {
        return (bits(seed, index) >>> 40) * 0x1.0p-24f;
    }
}
