package org.densenet.engine.cuda.kernels;

import org.densenet.engine.DType;
import org.densenet.engine.Tensor;

/**
 * A float32 or 16-bit ({@link DType#BF16}, {@link DType#F16}) tensor on the device in the
 * channel-slice layout of {@link org.densenet.engine.Backend}: element (s, ch, y, x) lives at
 * {@code address + bytes * (s * ns + ch * h * w + y * w + x)}, with {@code ns >= c * h * w}. A
 * contiguous tensor of another rank is one sample of one channel of one row: n = c = h = 1, w =
 * numel, which is all the flat elementwise kernels need. The launchers pick each kernel's storage
 * type from {@link #dtype()}.
 */
public record DeviceSlice(long address, int n, int c, int h, int w, long ns, DType dtype) {

    public DeviceSlice {
        if (dtype != DType.F32 && !dtype.isSixteenBit()) {
            throw new IllegalArgumentException("CUDA kernels take float32, bfloat16 or float16 activations, got " + dtype);
        }
        if (address == 0 || (address & (dtype.bytes() - 1)) != 0) {
            throw new IllegalArgumentException("device address 0x" + Long.toHexString(address) + " is null or not " + dtype.bytes()
                    + "-byte aligned for " + dtype);
        }
        if (n < 1 || c < 1 || h < 1 || w < 1) {
            throw new IllegalArgumentException("slice dimensions must be >= 1, got [" + n + ", " + c + ", " + h + ", " + w + "]");
        }
        long sample = Math.multiplyExact(Math.multiplyExact((long) c, h), (long) w);
        if (ns < sample) {
            throw new IllegalArgumentException("batch stride " + ns + " is smaller than one sample's " + c + "*" + h + "*" + w
                    + " = " + sample + " elements: samples would overlap");
        }
        Math.multiplyExact(ns, (long) n);   // the last sample's end must be addressable in 64 bits
    }

    /** A float32 slice. */
    public DeviceSlice(long address, int n, int c, int h, int w, long ns) {
        this(address, n, c, h, w, ns, DType.F32);
    }

    /** The slice a tensor addresses, given the device address of element 0 of its storage. */
    public static DeviceSlice of(Tensor t, long storageAddress) {
        DType d = t.dtype();
        if (d != DType.F32 && !d.isSixteenBit()) throw new IllegalArgumentException("CUDA kernels take float32 or 16-bit tensors, got " + t);
        long address = storageAddress + (long) d.bytes() * t.offset();
        if (t.isChannelSlice()) {
            return new DeviceSlice(address, t.dim(0), t.dim(1), t.dim(2), t.dim(3), t.stride(0), d);
        }
        if (t.isContiguous()) {
            long numel = t.numel();
            if (numel > Integer.MAX_VALUE) throw new IllegalArgumentException("contiguous tensor " + t + " has more than 2^31 - 1 elements");
            return new DeviceSlice(address, 1, 1, 1, (int) numel, numel, d);
        }
        throw new IllegalArgumentException("tensor " + t + " is neither a channel slice nor contiguous");
    }

    /** A contiguous run of {@code count} floats. */
    public static DeviceSlice flat(long address, int count) {
        return new DeviceSlice(address, 1, 1, 1, count, count);
    }

    /** A contiguous run of {@code count} elements of {@code dtype}. */
    public static DeviceSlice flat(long address, int count, DType dtype) {
        return new DeviceSlice(address, 1, 1, 1, count, count, dtype);
    }

    /** The same elements as another storage type would hold them at {@code address} (e.g. the 16-bit copy of a float32 buffer). */
    public DeviceSlice as(DType type, long otherAddress) {
        return new DeviceSlice(otherAddress, n, c, h, w, ns, type);
    }

    /** The kernel of family {@code base} for this slice's storage type: "relu" -> "relu_bf16". */
    public String kernel(String base) {
        return base + "_" + suffix(dtype);
    }

    /** "f32", "bf16" or "f16": how kernel names spell a storage type. */
    public static String suffix(DType dtype) {
        return switch (dtype) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            case F16 -> "f16";
            default -> throw new IllegalArgumentException("no kernels for " + dtype);
        };
    }

    public long hw() {
        return (long) h * w;
    }

    /** Elements of one sample, c * h * w: a contiguous run in this layout. */
    public long sampleLength() {
        return c * hw();
    }

    public long numel() {
        return n * sampleLength();
    }

    public boolean sameShape(DeviceSlice o) {
        return n == o.n && c == o.c && h == o.h && w == o.w;
    }

    String shape() {
        return (dtype == DType.F32 ? "" : dtype + " ") + "[" + n + ", " + c + ", " + h + ", " + w + "] (batch stride " + ns + ")";
    }

    static void requireSameShape(String op, DeviceSlice a, String aName, DeviceSlice b, String bName) {
        if (!a.sameShape(b)) throw new IllegalArgumentException(op + ": " + aName + " " + a.shape() + " and " + bName + " " + b.shape() + " differ in shape");
    }

    /** Same shape and the same storage type: the operands of one kernel over activations. */
    static void requireSameKind(String op, DeviceSlice a, String aName, DeviceSlice b, String bName) {
        requireSameShape(op, a, aName, b, bName);
        if (a.dtype != b.dtype) throw new IllegalArgumentException(op + ": " + aName + " is " + a.dtype + ", " + bName + " " + b.dtype);
    }

    /** A float32 operand (a dropout mask, say), whatever the activations' type. */
    static void requireFloat32(String op, DeviceSlice a, String name) {
        if (a.dtype != DType.F32) throw new IllegalArgumentException(op + ": " + name + " must be float32, got " + a.dtype);
    }

    /** Device addresses of contiguous float32 (or int32) buffers: non-null and 4-byte aligned. */
    static void requireVectors(long... addresses) {
        for (long a : addresses) {
            if (a == 0 || (a & 3) != 0) throw new IllegalArgumentException("device buffer address 0x" + Long.toHexString(a) + " is null or not 4-byte aligned");
        }
    }
}
