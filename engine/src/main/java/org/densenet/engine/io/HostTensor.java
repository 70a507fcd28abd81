package org.densenet.engine.io;

import java.util.Arrays;
import java.util.Objects;
import org.densenet.engine.DType;

/**
 * A dense, row-major tensor in Java heap memory, as read from or written to a weights file.
 * Exactly one of the four arrays is set, the one {@link #dtype()} names. The arrays are held,
 * not copied: a caller that keeps mutating one after building a tensor changes the tensor.
 *
 * <p>{@link Kind} rather than the engine's {@link DType} because files also carry int64
 * tensors (torchvision's {@code num_batches_tracked}, labels) that no backend computes with.
 * A shape of length 0 is a scalar (one element), as in safetensors.
 */
public record HostTensor(Kind dtype, int[] shape, float[] f32, double[] f64, int[] i32, long[] i64) {

    /** Element types a host tensor can hold. */
    public enum Kind {
        F32(4), F64(8), I32(4), I64(8);

        private final int bytes;

        Kind(int bytes) {
            this.bytes = bytes;
        }

        public int bytes() {
            return bytes;
        }

        public boolean isFloating() {
            return this == F32 || this == F64;
        }

        public static Kind of(DType t) {
            return switch (t) {
                case F32 -> F32;
                case F64 -> F64;
                case I32 -> I32;
                case BF16, F16 -> throw new IllegalArgumentException(t + " is a device storage type; host tensors hold it as float32");
            };
        }

        /** The engine type of the same name; int64 has none, so it throws for {@link #I64}. */
        public DType toDType() {
            return switch (this) {
                case F32 -> DType.F32;
                case F64 -> DType.F64;
                case I32 -> DType.I32;
                case I64 -> throw new IllegalStateException("the engine has no int64 tensors; convert with toIntArray()");
            };
        }
    }

    public HostTensor {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor dimensions must be >= 0, got " + Arrays.toString(shape));
            n *= d;
        }
        int set = (f32 != null ? 1 : 0) + (f64 != null ? 1 : 0) + (i32 != null ? 1 : 0) + (i64 != null ? 1 : 0);
        if (set != 1) throw new IllegalArgumentException("a host tensor holds exactly one array, got " + set);
        int length = switch (dtype) {
            case F32 -> f32 == null ? -1 : f32.length;
            case F64 -> f64 == null ? -1 : f64.length;
            case I32 -> i32 == null ? -1 : i32.length;
            case I64 -> i64 == null ? -1 : i64.length;
        };
        if (length < 0) throw new IllegalArgumentException("a " + dtype + " host tensor needs its " + dtype + " array set");
        if (length != n) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n + " elements, the "
                    + dtype + " array has " + length);
        }
    }

    public static HostTensor ofF32(float[] data, int... shape) {
        return new HostTensor(Kind.F32, shape, data, null, null, null);
    }

    public static HostTensor ofF64(double[] data, int... shape) {
        return new HostTensor(Kind.F64, shape, null, data, null, null);
    }

    public static HostTensor ofI32(int[] data, int... shape) {
        return new HostTensor(Kind.I32, shape, null, null, data, null);
    }

    public static HostTensor ofI64(long[] data, int... shape) {
        return new HostTensor(Kind.I64, shape, null, null, null, data);
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** The elements as float (a copy; a float64 or int64 source is rounded). */
    public float[] toFloatArray() {
        int n = (int) numel();
        float[] out = new float[n];
        switch (dtype) {
            case F32 -> System.arraycopy(f32, 0, out, 0, n);
            case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) f64[i]; }
            case I32 -> { for (int i = 0; i < n; i++) out[i] = i32[i]; }
            case I64 -> { for (int i = 0; i < n; i++) out[i] = i64[i]; }
        }
        return out;
    }

    /** The elements as double (a copy). */
    public double[] toDoubleArray() {
        int n = (int) numel();
        double[] out = new double[n];
        switch (dtype) {
            case F32 -> { for (int i = 0; i < n; i++) out[i] = f32[i]; }
            case F64 -> System.arraycopy(f64, 0, out, 0, n);
            case I32 -> { for (int i = 0; i < n; i++) out[i] = i32[i]; }
            case I64 -> { for (int i = 0; i < n; i++) out[i] = i64[i]; }
        }
        return out;
    }

    /** The elements as int (a copy) for integer tensors; a value outside the int range throws. */
    public int[] toIntArray() {
        int n = (int) numel();
        return switch (dtype) {
            case I32 -> i32.clone();
            case I64 -> {
                int[] out = new int[n];
                for (int i = 0; i < n; i++) {
                    if (i64[i] != (int) i64[i]) throw new ArithmeticException("int64 value " + i64[i] + " at index " + i + " does not fit an int");
                    out[i] = (int) i64[i];
                }
                yield out;
            }
            default -> throw new IllegalStateException("toIntArray() needs an integer tensor, this one is " + dtype);
        };
    }

    /** The elements as long (a copy) for integer tensors. */
    public long[] toLongArray() {
        int n = (int) numel();
        return switch (dtype) {
            case I64 -> i64.clone();
            case I32 -> {
                long[] out = new long[n];
                for (int i = 0; i < n; i++) out[i] = i32[i];
                yield out;
            }
            default -> throw new IllegalStateException("toLongArray() needs an integer tensor, this one is " + dtype);
        };
    }

    /** Equal when kind, shape and every element are equal (float NaNs compare equal to themselves). */
    @Override
    public boolean equals(Object o) {
        return o instanceof HostTensor t && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && Arrays.equals(f32, t.f32) && Arrays.equals(f64, t.f64)
                && Arrays.equals(i32, t.i32) && Arrays.equals(i64, t.i64);
    }

    @Override
    public int hashCode() {
        return Objects.hash(dtype, Arrays.hashCode(shape), Arrays.hashCode(f32), Arrays.hashCode(f64),
                Arrays.hashCode(i32), Arrays.hashCode(i64));
    }

    @Override
    public String toString() {
        return "HostTensor" + Arrays.toString(shape) + " " + dtype;
    }
}
