package org.densenet.engine.cuda.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The driver's device-to-device copies and 32-bit fills, queued on a stream, through FFM: a dense
 * block's naive mode makes one strided copy per layer each way, and JCuda's binding of
 * cuMemcpy2DAsync marshals its descriptor from a Java object on every call. Addresses and handles
 * are 64-bit integers (the C ABI passes them as it passes pointers); each method returns the
 * driver's result code for the caller to check.
 */
public final class StreamCopies {
    /** CU_MEMORYTYPE_DEVICE. */
    private static final int DEVICE = 2;
    /**
     * Byte offsets of the CUDA_MEMCPY2D fields we set (cuda.h, 64-bit; 128 bytes in all, the rest
     * zero: no X/Y offsets, no host pointers or arrays). DriverHeaderTest checks them against cuda.h.
     */
    private static final long SRC_TYPE = 16, SRC_DEVICE = 32, SRC_PITCH = 48;
    private static final long DST_TYPE = 72, DST_DEVICE = 88, DST_PITCH = 104;
    private static final long WIDTH = 112, HEIGHT = 120;
    static final long MEMCPY2D_BYTES = 128;

    private final MethodHandle copy;
    private final MethodHandle copy2d;
    private final MethodHandle fill;
    private final MethodHandle fill2d;
    private final MemorySegment descriptor;

    public StreamCopies(NativeLibrary libcuda) {
        copy = libcuda.function("cuMemcpyDtoDAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        copy2d = libcuda.function("cuMemcpy2DAsync_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        fill = libcuda.function("cuMemsetD32Async", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
        fill2d = libcuda.function("cuMemsetD2D32Async", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG,
                JAVA_LONG));
        descriptor = Arena.ofAuto().allocate(MEMCPY2D_BYTES, 8);
    }

    /** {@code bytes} from device address src to dst. */
    public int copy(long dst, long src, long bytes, long stream) {
        try {
            return (int) copy.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cuMemcpyDtoDAsync could not be called", t);
        }
    }

    /** rows x rowBytes from src (rows srcPitch bytes apart) to dst (dstPitch apart), device to device. */
    public synchronized int copy2d(long src, long srcPitch, long dst, long dstPitch, long rowBytes, long rows, long stream) {
        MemorySegment d = descriptor;
        d.fill((byte) 0);
        d.set(JAVA_INT, SRC_TYPE, DEVICE);
        d.set(JAVA_LONG, SRC_DEVICE, src);
        d.set(JAVA_LONG, SRC_PITCH, srcPitch);
        d.set(JAVA_INT, DST_TYPE, DEVICE);
        d.set(JAVA_LONG, DST_DEVICE, dst);
        d.set(JAVA_LONG, DST_PITCH, dstPitch);
        d.set(JAVA_LONG, WIDTH, rowBytes);
        d.set(JAVA_LONG, HEIGHT, rows);
        try {
            return (int) copy2d.invokeExact(d, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cuMemcpy2DAsync could not be called", t);
        }
    }

    /** {@code count} 32-bit words at dst set to bits. */
    public int fill(long dst, int bits, long count, long stream) {
        try {
            return (int) fill.invokeExact(dst, bits, count, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cuMemsetD32Async could not be called", t);
        }
    }

    /** rows x rowElements 32-bit words set to bits, rows pitchBytes apart. */
    public int fill2d(long dst, long pitchBytes, int bits, long rowElements, long rows, long stream) {
        try {
            return (int) fill2d.invokeExact(dst, pitchBytes, bits, rowElements, rows, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cuMemsetD2D32Async could not be called", t);
        }
    }

    /** Field offsets, for the layout test: {srcMemoryType, srcDevice, srcPitch, dstMemoryType, dstDevice, dstPitch, WidthInBytes, Height}. */
    static long[] layout() {
        return new long[] {SRC_TYPE, SRC_DEVICE, SRC_PITCH, DST_TYPE, DST_DEVICE, DST_PITCH, WIDTH, HEIGHT};
    }
}
