package org.densenet.engine.cuda.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The driver's stream capture and graph calls, through FFM like the other calls a training step
 * makes: a captured step is launched once per step, and JCuda 12.6 binds neither
 * cuGraphInstantiateWithFlags nor the {@code _v2} capture entry point. Handles are 64-bit
 * integers; each method returns the driver's result code for the caller to check.
 */
public final class StreamGraphs {
    /** CU_STREAM_CAPTURE_MODE_GLOBAL: potentially unsafe calls (allocation, synchronous copies) fail on every thread while the capture runs. */
    public static final int CAPTURE_MODE_GLOBAL = 0;
    /** CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: they fail on the capturing thread only; other threads' captures are ignored. */
    public static final int CAPTURE_MODE_THREAD_LOCAL = 1;

    private final MethodHandle beginCapture;
    private final MethodHandle endCapture;
    private final MethodHandle instantiate;
    private final MethodHandle launch;
    private final MethodHandle execDestroy;
    private final MethodHandle graphDestroy;

    public StreamGraphs(NativeLibrary libcuda) {
        // cuda.h maps cuStreamBeginCapture to its _v2 (which takes the mode) and cuGraphInstantiate to cuGraphInstantiateWithFlags.
        beginCapture = libcuda.function("cuStreamBeginCapture_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT));
        endCapture = libcuda.function("cuStreamEndCapture", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        instantiate = libcuda.function("cuGraphInstantiateWithFlags", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        launch = libcuda.function("cuGraphLaunch", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
        execDestroy = libcuda.function("cuGraphExecDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        graphDestroy = libcuda.function("cuGraphDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    }

    public int beginCapture(long stream, int mode) {
        try {
            return (int) beginCapture.invokeExact(stream, mode);
        } catch (Throwable t) {
            throw new IllegalStateException("cuStreamBeginCapture could not be called", t);
        }
    }

    /** Ends the stream's capture; the graph handle goes into {@code graph[0]} (0 when the capture was invalidated). */
    public int endCapture(long stream, long[] graph) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int r = (int) endCapture.invokeExact(stream, out);
            graph[0] = r == 0 ? out.get(JAVA_LONG, 0) : 0;
            return r;
        } catch (Throwable t) {
            throw new IllegalStateException("cuStreamEndCapture could not be called", t);
        }
    }

    /** An executable graph of {@code graph} into {@code exec[0]}. */
    public int instantiate(long[] exec, long graph) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int r = (int) instantiate.invokeExact(out, graph, 0L);
            exec[0] = r == 0 ? out.get(JAVA_LONG, 0) : 0;
            return r;
        } catch (Throwable t) {
            throw new IllegalStateException("cuGraphInstantiateWithFlags could not be called", t);
        }
    }

    public int launch(long exec, long stream) {
        try {
            return (int) launch.invokeExact(exec, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("cuGraphLaunch could not be called", t);
        }
    }

    public int destroyExec(long exec) {
        try {
            return (int) execDestroy.invokeExact(exec);
        } catch (Throwable t) {
            throw new IllegalStateException("cuGraphExecDestroy could not be called", t);
        }
    }

    public int destroyGraph(long graph) {
        try {
            return (int) graphDestroy.invokeExact(graph);
        } catch (Throwable t) {
            throw new IllegalStateException("cuGraphDestroy could not be called", t);
        }
    }
}
