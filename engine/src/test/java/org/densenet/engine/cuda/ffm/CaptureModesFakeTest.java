package org.densenet.engine.cuda.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The stand-in driver's stream capture across threads (fake_cuda.c), as data-parallel ranks use it: a
 * capture belongs to the thread that began it, only that thread's work is recorded, and the mode
 * decides whose unsafe calls spoil it. Global mode: another thread's allocation fails and spoils the
 * capture, as on a GPU; thread-local mode: it succeeds and the capture survives. The capturing
 * thread's own allocation spoils its capture in both.
 */
class CaptureModesFakeTest {
    private static final long STREAM = 0x57AE;   // the stand-in's one stream handle
    private static final int UNSUPPORTED = 900, INVALIDATED = 901;

    private final NativeLibrary cuda = FakeLibraries.open("cuda", "libfake_cuda.so");
    private final StreamGraphs graphs = new StreamGraphs(cuda);
    private final MethodHandle alloc = cuda.function("cuMemAlloc_v2", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private final MethodHandle free = cuda.function("cuMemFree_v2", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private final MethodHandle fill = cuda.function("cuMemsetD32Async",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    /** The other thread: a second rank. */
    private final ExecutorService other = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() throws InterruptedException {
        other.shutdown();
        other.awaitTermination(10, TimeUnit.SECONDS);
    }

    @Test
    void inGlobalModeAnotherThreadsAllocationFailsAndSpoilsTheCapture() throws Throwable {
        assertEquals(0, graphs.beginCapture(STREAM, StreamGraphs.CAPTURE_MODE_GLOBAL));
        assertEquals(UNSUPPORTED, onOtherThread(() -> allocateAndFree(64)), "another thread's cuMemAlloc during a global-mode capture");
        long[] graph = new long[1];
        assertEquals(INVALIDATED, graphs.endCapture(STREAM, graph), "the capture was spoiled by the other thread's call");
        assertEquals(0, onOtherThread(() -> allocateAndFree(64)), "allocating works again once the capture ended");
    }

    @Test
    void inThreadLocalModeAnotherThreadAllocatesAndRunsItsWorkWhileTheCaptureRecordsOnlyItsOwn() throws Throwable {
        long a = allocate(4 * 8), b = allocate(4 * 8);
        try {
            fillNow(a, 1);
            fillNow(b, 1);
            assertEquals(0, graphs.beginCapture(STREAM, StreamGraphs.CAPTURE_MODE_THREAD_LOCAL));
            assertEquals(0, (int) fill.invokeExact(a, 7, 8L, STREAM), "queued by the capturing thread: recorded");
            assertEquals(0, onOtherThread(() -> allocateAndFree(64)), "another thread allocates during a thread-local capture");
            assertEquals(0, onOtherThread(() -> (int) fill.invokeExact(b, 5, 8L, STREAM)), "another thread's work on the same handle");
            assertEquals(1, word(a), "the capturing thread's fill has not run");
            assertEquals(5, word(b), "the other thread's fill ran at once: it is not the capturing thread's work");
            long[] graph = new long[1];
            assertEquals(0, graphs.endCapture(STREAM, graph), "the capture survived the other thread's allocation");
            long[] exec = new long[1];
            assertEquals(0, graphs.instantiate(exec, graph[0]));
            assertEquals(0, graphs.launch(exec[0], STREAM));
            assertEquals(7, word(a), "the launch ran the recorded fill");
            assertEquals(0, graphs.destroyExec(exec[0]));
            assertEquals(0, graphs.destroyGraph(graph[0]));
        } finally {
            assertEquals(0, (int) free.invokeExact(a));
            assertEquals(0, (int) free.invokeExact(b));
        }
    }

    @Test
    void inEitherModeTheCapturingThreadsOwnAllocationSpoilsTheCapture() throws Throwable {
        for (int mode : new int[] {StreamGraphs.CAPTURE_MODE_GLOBAL, StreamGraphs.CAPTURE_MODE_THREAD_LOCAL}) {
            assertEquals(0, graphs.beginCapture(STREAM, mode));
            assertEquals(UNSUPPORTED, allocateAndFree(64), "mode " + mode);
            assertEquals(INVALIDATED, graphs.endCapture(STREAM, new long[1]), "mode " + mode);
        }
    }

    /** A driver call's result. */
    @FunctionalInterface
    private interface DriverCall {
        int call() throws Throwable;
    }

    /** The call's result, made on the other thread. */
    private int onOtherThread(DriverCall call) throws Exception {
        Callable<Integer> c = () -> {
            try {
                return call.call();
            } catch (Exception | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        };
        return other.submit(c).get(10, TimeUnit.SECONDS);
    }

    /** cuMemAlloc's result; what it allocated is freed again. */
    private int allocateAndFree(long bytes) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ValueLayout.JAVA_LONG);
            int r = (int) alloc.invokeExact(p, bytes);
            if (r == 0) assertEquals(0, (int) free.invokeExact(p.get(ValueLayout.JAVA_LONG, 0)));
            return r;
        }
    }

    private long allocate(long bytes) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ValueLayout.JAVA_LONG);
            assertEquals(0, (int) alloc.invokeExact(p, bytes));
            return p.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    private void fillNow(long address, int value) throws Throwable {
        assertEquals(0, (int) fill.invokeExact(address, value, 8L, STREAM));
    }

    /** The first 32-bit word at a stand-in device address (host memory). */
    private static int word(long address) {
        return MemorySegment.ofAddress(address).reinterpret(4).get(ValueLayout.JAVA_INT, 0);
    }
}
