package org.densenet.engine.io;

import java.nio.ByteBuffer;

/**
 * Element types as weight files store them, under safetensors' names; PyTorch's storage classes map
 * onto the same set. A {@link HostTensor} holds only four kinds, so reading widens exactly: 16-bit
 * floats to F32, small integers and booleans to I32. Weights saved in half precision or with
 * {@code uint8} masks thus load without a second copy of every decoder.
 */
enum ElementType {
    F32(4), F64(8), I32(4), I64(8), F16(2), BF16(2), I16(2), I8(1), U8(1), BOOL(1);

    final int bytes;

    ElementType(int bytes) {
        this.bytes = bytes;
    }

    /** {@code numel} elements from {@code src}'s position on, in {@code src}'s byte order. */
    HostTensor decode(ByteBuffer src, int numel, int[] shape) {
        ByteBuffer b = src.slice().order(src.order());
        return switch (this) {
            case F32 -> {
                float[] a = new float[numel];
                b.asFloatBuffer().get(a);
                yield HostTensor.ofF32(a, shape);
            }
            case F64 -> {
                double[] a = new double[numel];
                b.asDoubleBuffer().get(a);
                yield HostTensor.ofF64(a, shape);
            }
            case I32 -> {
                int[] a = new int[numel];
                b.asIntBuffer().get(a);
                yield HostTensor.ofI32(a, shape);
            }
            case I64 -> {
                long[] a = new long[numel];
                b.asLongBuffer().get(a);
                yield HostTensor.ofI64(a, shape);
            }
            case F16 -> {
                float[] a = new float[numel];
                for (int i = 0; i < numel; i++) a[i] = Float.float16ToFloat(b.getShort(2 * i));
                yield HostTensor.ofF32(a, shape);
            }
            case BF16 -> {
                float[] a = new float[numel];
                // bfloat16 is the upper half of a float32
                for (int i = 0; i < numel; i++) a[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
                yield HostTensor.ofF32(a, shape);
            }
            case I16 -> {
                int[] a = new int[numel];
                for (int i = 0; i < numel; i++) a[i] = b.getShort(2 * i);
                yield HostTensor.ofI32(a, shape);
            }
            case I8 -> {
                int[] a = new int[numel];
                for (int i = 0; i < numel; i++) a[i] = b.get(i);
                yield HostTensor.ofI32(a, shape);
            }
            case U8 -> {
                int[] a = new int[numel];
                for (int i = 0; i < numel; i++) a[i] = b.get(i) & 0xff;
                yield HostTensor.ofI32(a, shape);
            }
            case BOOL -> {
                int[] a = new int[numel];
                for (int i = 0; i < numel; i++) a[i] = b.get(i) != 0 ? 1 : 0;
                yield HostTensor.ofI32(a, shape);
            }
        };
    }
}
