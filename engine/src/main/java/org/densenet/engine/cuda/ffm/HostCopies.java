package org.densenet.engine.cuda.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Page-locked host memory and the driver's host-device copies queued on a stream, through FFM.
 * Only a copy from or to page-locked memory is asynchronous (one from pageable memory returns when
 * the data has been staged, and waits for the stream); the CUDA backend queues uploads and the loss
 * read-back this way so that no step waits for the GPU. Addresses and handles are 64-bit integers;
 * each method returns the driver's result code for the caller to check.
 */
public final class HostCopies {
    private final MethodHandle allocHost;
    private final MethodHandle freeHost;
    private final MethodHandle toDevice;
    private final MethodHandle toHost;

    public HostCopies(NativeLibrary libcuda) {
        allocHost = libcuda.function("cuMemAllocHost_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        freeHost = libcuda.function("cuMemFreeHost", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        toDevice = libcuda.function("cuMemcpyHtoDAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        toHost = libcuda.function("cuMemcpyDtoHAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    }

    /** {@code bytes} of page-locked host memory; its address goes into {@code address[0]} (0 on failure). */
    public int allocate(long bytes, long[] address) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int r = (int) allocHost.invokeExact(out, bytes);
            address[0] = r == 0 ? out.get(JAVA_LONG, 0) : 0;
            return r;
        } catch (Throwable t) {
            throw new IllegalStateException("cuMemAllocHost could not be called", t);
        }
    }

    public int free(long address) {
        try {
            return (int) freeHost.invokeExact(address);
        } catch (Throwable t) {
            throw new IllegalStateException("cuMemFreeHost could not be called", t);
        }
    }

    /** {@code bytes} from page-locked host address src to device address dst, queued on the stream. */
    public int toDevice(long dst, long src, long bytes, long stream) {
        try {
            return (int) toDevice.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cuMemcpyHtoDAsync could not be called", t);
        }
    }

    /** {@code bytes} from device address src to page-locked host address dst, queued on the stream. */
    public int toHost(long dst, long src, long bytes, long stream) {
        try {
            return (int) toHost.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cuMemcpyDtoHAsync could not be called", t);
        }
    }
}
