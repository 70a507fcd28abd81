package org.densenet.engine.cuda.kernels;

import org.densenet.engine.DType;
import org.densenet.engine.Tensor;

/**
 * A float32 tensor on the device in the channel-slice layout of {@link org.densenet.engine.Backend}:
 * element (s, ch, y, x) lives at {@code address + 4 * (s * ns + ch * h * w + y * w + x)}, with
 * {@code ns >= c * h * w}. A contiguous tensor of another rank is one sample of one channel of
 * one row: n = c = h = 1, w = numel, which is all the flat elementwise kernels need.
 */
public record DeviceSlice(long address, int n, int c, int h, int w, long ns) {

    public DeviceSlice {
        if (address == 0 || (address & 3) != 0) {
            throw new IllegalArgumentException("device address 0x" + Long.toHexString(address) + " is null or not 4-byte aligned for float32");
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

    /** The slice a tensor addresses, given the device address of element 0 of its storage. */
    public static DeviceSlice of(Tensor t, long storageAddress) {
        if (t.dtype() != DType.F32) throw new IllegalArgumentException("CUDA kernels take float32 tensors, got " + t);
        long address = storageAddress + 4 * t.offset();
        if (t.isChannelSlice()) {
            return new DeviceSlice(address, t.dim(0), t.dim(1), t.dim(2), t.dim(3), t.stride(0));
        }
        if (t.isContiguous()) {
            long numel = t.numel();
            if (numel > Integer.MAX_VALUE) throw new IllegalArgumentException("contiguous tensor " + t + " has more than 2^31 - 1 elements");
            return new DeviceSlice(address, 1, 1, 1, (int) numel, numel);
        }
        throw new IllegalArgumentException("tensor " + t + " is neither a channel slice nor contiguous");
    }

    /** A contiguous run of {@code count} floats. */
    public static DeviceSlice flat(long address, int count) {
        return new DeviceSlice(address, 1, 1, 1, count, count);
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
        return "[" + n + ", " + c + ", " + h + ", " + w + "] (batch stride " + ns + ")";
    }

    static void requireSameShape(String op, DeviceSlice a, String aName, DeviceSlice b, String bName) {
        if (!a.sameShape(b)) throw new IllegalArgumentException(op + ": " + aName + " " + a.shape() + " and " + bName + " " + b.shape() + " differ in shape");
    }

    /** Device addresses of contiguous float32 (or int32) buffers: non-null and 4-byte aligned. */
    static void requireVectors(long... addresses) {
        for (long a : addresses) {
            if (a == 0 || (a & 3) != 0) throw new IllegalArgumentException("device buffer address 0x" + Long.toHexString(a) + " is null or not 4-byte aligned");
        }
    }
}
