package org.densenet.engine.cuda.kernels;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The parameter list of one launch, in the kernel's declaration order. Values are kept as plain
 * numbers with their C type, so tests can compare a launcher's list with the kernel's PTX
 * signature without loading the CUDA library; {@link #write} lays them out for cuLaunchKernel.
 * Built once per launch on the host's hot path, so it keeps primitives, not boxed values.
 */
public final class KernelArgs {
    /** Bytes each argument gets in the launch buffer: room for the largest (a struct of eight floats). */
    public static final int SLOT_BYTES = 32;

    /** C parameter types as PTX for sm_120 declares them: pointers are ".u64 .ptr", long long ".u64", and so on. */
    public enum Type {
        PTR("u64.ptr"), I64("u64"), I32("u32"), F32("f32"), F64("f64"), F32X8("align 4 .b8[32]");

        public final String ptx;

        Type(String ptx) {
            this.ptx = ptx;
        }
    }

    private Type[] types = new Type[16];
    /** Raw bits of each scalar argument (floats and doubles as their IEEE bits). */
    private long[] bits = new long[16];
    /** The struct arguments by position (rare: null until one is added). */
    private float[][] structs;
    private int count;

    /** A device address (CUdeviceptr value); 0 is a null pointer, which only some kernels accept. */
    public KernelArgs ptr(long address) {
        return add(Type.PTR, address);
    }

    public KernelArgs i64(long v) {
        return add(Type.I64, v);
    }

    public KernelArgs i32(int v) {
        return add(Type.I32, v);
    }

    public KernelArgs bool(boolean v) {
        return i32(v ? 1 : 0);
    }

    public KernelArgs f32(float v) {
        return add(Type.F32, Float.floatToRawIntBits(v));
    }

    public KernelArgs f64(double v) {
        return add(Type.F64, Double.doubleToRawLongBits(v));
    }

    /** A struct of eight floats passed by value. */
    public KernelArgs f32x8(float[] v) {
        if (v.length != 8) throw new IllegalArgumentException("a by-value struct of 8 floats needs 8 values, got " + v.length);
        add(Type.F32X8, 0); // grows structs, once there is one, with the other arrays
        if (structs == null) structs = new float[types.length][];
        structs[count - 1] = v.clone();
        return this;
    }

    public int size() {
        return count;
    }

    public List<Type> types() {
        return List.of(Arrays.copyOf(types, count));
    }

    /** The value of parameter i: a long, int, float or double (or a float[] for a struct). */
    public Object value(int i) {
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException("argument " + i + " of " + count);
        long b = bits[i];
        return switch (types[i]) {
            case PTR, I64 -> b;
            case I32 -> (int) b;
            case F32 -> Float.intBitsToFloat((int) b);
            case F64 -> Double.longBitsToDouble(b);
            case F32X8 -> structs[i].clone();
        };
    }

    /**
     * Writes argument i at {@code values + i * SLOT_BYTES}, as the C ABI lays the value out in
     * memory: what cuLaunchKernel's kernelParams[i] must point at.
     */
    public void write(MemorySegment values) {
        for (int i = 0; i < count; i++) {
            long at = (long) i * SLOT_BYTES;
            long b = bits[i];
            switch (types[i]) {
                case PTR, I64, F64 -> values.set(JAVA_LONG_UNALIGNED, at, b);
                case I32, F32 -> values.set(JAVA_INT_UNALIGNED, at, (int) b);
                case F32X8 -> {
                    float[] s = structs[i];
                    for (int j = 0; j < 8; j++) values.set(JAVA_FLOAT_UNALIGNED, at + 4L * j, s[j]);
                }
            }
        }
    }

    private KernelArgs add(Type t, long value) {
        if (count == types.length) {
            types = Arrays.copyOf(types, 2 * count);
            bits = Arrays.copyOf(bits, 2 * count);
            if (structs != null) structs = Arrays.copyOf(structs, 2 * count);
        }
        types[count] = t;
        bits[count] = value;
        count++;
        return this;
    }
}
