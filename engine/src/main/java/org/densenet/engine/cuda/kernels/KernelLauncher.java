package org.densenet.engine.cuda.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import org.densenet.engine.cuda.CudaException;
import org.densenet.engine.cuda.ffm.NativeLibrary;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuLaunchKernel through FFM, the one call every kernel launch makes. JCuda's binding of it builds
 * a native copy of each argument from Java arrays through JNI on every call, which made it half of
 * the host's time in a training step; here the arguments are written straight into one reusable
 * native buffer whose pointer table is filled once (the driver copies the values during the call,
 * so the buffer is free again when it returns). Handles are passed as 64-bit integers, which the
 * C ABI passes exactly as pointers.
 */
public final class KernelLauncher {
    /** Most parameters one launch may have (our kernels take at most about twenty). */
    public static final int MAX_ARGS = 64;

    private final MethodHandle cuLaunchKernel;
    private final MemorySegment values;
    private final MemorySegment params;

    /** Binds cuLaunchKernel of the driver library already loaded as {@code libcuda}. */
    public KernelLauncher(NativeLibrary libcuda) {
        cuLaunchKernel = libcuda.function("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS));
        Arena arena = Arena.ofAuto();
        values = arena.allocate((long) MAX_ARGS * KernelArgs.SLOT_BYTES, 16);
        params = arena.allocate((long) MAX_ARGS * ADDRESS.byteSize(), ADDRESS.byteAlignment());
        for (int i = 0; i < MAX_ARGS; i++) params.setAtIndex(ADDRESS, i, values.asSlice((long) i * KernelArgs.SLOT_BYTES));
    }

    /**
     * Queues {@code function} (a CUfunction handle) on {@code stream} (a CUstream handle, 0 for the
     * legacy default stream) and returns the driver's result code.
     */
    public synchronized int launch(long function, LaunchGeometry g, long stream, KernelArgs args) {
        if (args.size() > MAX_ARGS) throw new IllegalArgumentException("a launch takes at most " + MAX_ARGS + " arguments, got " + args.size());
        args.write(values);
        try {
            return (int) cuLaunchKernel.invokeExact(function, g.gridX(), g.gridY(), g.gridZ(), g.blockX(), g.blockY(), g.blockZ(),
                    g.sharedBytes(), stream, params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new CudaException("kernel launch", "cuLaunchKernel", -1, String.valueOf(t));
        }
    }
}
