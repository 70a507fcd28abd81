package org.densenet.engine.cuda.ffm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import org.densenet.engine.cuda.CudaException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The NCCL bindings against the stand-in libnccl.so.2 (fake_nccl.c): ranks are threads of this
 * JVM, buffers are host memory (what the emulated device's memory is), and the collectives compute
 * for real, so the values, the error texts and the abort path are all checked here.
 */
class NcclFakeTest {
    private static Path LIB;
    private static NativeLibrary NATIVE;
    private static Nccl NCCL;

    /** Built without a soname, so that it never stands in for a real libnccl.so.2 another test loads by name. */
    @BeforeAll
    static void build() throws NativeLibrary.LoadFailure {
        LIB = FakeLibraries.build("nccl", "libnccl.so.2", "-pthread", "-Wl,--no-undefined");
        NATIVE = NativeLibrary.open(LIB.toString());
        NCCL = new Nccl(NATIVE, LIB.toString());
    }

    @AfterEach
    void everyCommunicatorIsGone() throws Throwable {
        long live = (long) NATIVE.function("fake_nccl_live_comms", FunctionDescriptor.of(ValueLayout.JAVA_LONG)).invokeExact();
        assertEquals(0, live, "communicators left open");
    }

    @Test
    void loadsFromTheToolkitPlacesAndRefusesAVersionBelowTheMinimum() throws Throwable {
        LibrarySearch search = LibrarySearch.forToolkit(Map.of(LibrarySearch.ENV_LIBS, LIB.getParent().toString()), LIB.getParent(),
                LIB.getParent().resolve("no-root"));
        assertEquals(23007, NcclLibrary.load(search).version());
        assertEquals("2.30.7", Nccl.describeVersion(23007));
        assertEquals("2.7.8", Nccl.describeVersion(2708));
        var setVersion = NATIVE.function("fake_nccl_set_version", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
        setVersion.invokeExact(21703);
        try {
            LibraryLoader.NotLoadable e = assertThrows(LibraryLoader.NotLoadable.class, () -> NcclLibrary.load(search));
            assertEquals("NCCL at " + LIB + " is version 2.17.3; 2.18.0 or newer is needed", e.getMessage());
        } finally {
            setVersion.invokeExact(23007);
        }
    }

    @Test
    void uniqueIdsAreFreshEachTime() {
        byte[] a = NCCL.uniqueId(), b = NCCL.uniqueId();
        assertEquals(Nccl.UNIQUE_ID_BYTES, a.length);
        assertFalse(java.util.Arrays.equals(a, b));
    }

    @Test
    void allReduceSumsAndAveragesAndBroadcastCopiesAcrossThreeRanks() throws Exception {
        int ranks = 3, n = 1000;
        float[][] inputs = new float[ranks][n];
        Random rng = new Random(5);
        for (float[] in : inputs) for (int i = 0; i < n; i++) in[i] = rng.nextFloat() * 2 - 1;
        byte[] id = NCCL.uniqueId();
        List<float[][]> results = onRanks(ranks, rank -> {
            try (Arena arena = Arena.ofShared(); NcclComm comm = NCCL.initRank(ranks, id, rank)) {
                MemorySegment send = arena.allocateFrom(ValueLayout.JAVA_FLOAT, inputs[rank]);
                MemorySegment sum = arena.allocate(ValueLayout.JAVA_FLOAT, n).fill((byte) 0x7f);
                comm.allReduce(send.address(), sum.address(), n, Nccl.FLOAT32, Nccl.SUM, 0, "sum");
                MemorySegment avg = arena.allocateFrom(ValueLayout.JAVA_FLOAT, inputs[rank]);
                comm.allReduce(avg.address(), avg.address(), n, Nccl.FLOAT32, Nccl.AVG, 0, "average in place");
                MemorySegment bcast = arena.allocateFrom(ValueLayout.JAVA_FLOAT, inputs[rank]);
                comm.broadcast(bcast.address(), bcast.address(), n, Nccl.FLOAT32, 1, 0, "broadcast from rank 1");
                assertEquals(rank, comm.rank());
                assertEquals(ranks, comm.size());
                return new float[][] {sum.toArray(ValueLayout.JAVA_FLOAT), avg.toArray(ValueLayout.JAVA_FLOAT),
                        bcast.toArray(ValueLayout.JAVA_FLOAT)};
            }
        });
        for (int r = 0; r < ranks; r++) {
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (float[] in : inputs) s += in[i];
                assertEquals(s, results.get(r)[0][i], 1e-6 * 3, "sum, rank " + r + " element " + i);
                assertEquals(s / ranks, results.get(r)[1][i], 1e-6, "average, rank " + r + " element " + i);
            }
            assertArrayEquals(inputs[1], results.get(r)[2], "broadcast on rank " + r);
        }
    }

    @Test
    void groupedCollectivesRunInTheOrderIssued() throws Exception {
        byte[] id = NCCL.uniqueId();
        List<double[]> results = onRanks(2, rank -> {
            try (Arena arena = Arena.ofShared(); NcclComm comm = NCCL.initRank(2, id, rank)) {
                MemorySegment a = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, rank + 1.0, rank + 2.0);
                MemorySegment b = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, 10.0 * (rank + 1));
                NCCL.groupStart();
                comm.allReduce(a.address(), a.address(), 2, Nccl.FLOAT64, Nccl.SUM, 0, "bucket 0");
                comm.allReduce(b.address(), b.address(), 1, Nccl.FLOAT64, Nccl.MAX, 0, "bucket 1");
                NCCL.groupEnd("all-reduce of 2 buckets");
                return new double[] {a.getAtIndex(ValueLayout.JAVA_DOUBLE, 0), a.getAtIndex(ValueLayout.JAVA_DOUBLE, 1),
                        b.getAtIndex(ValueLayout.JAVA_DOUBLE, 0)};
            }
        });
        for (double[] r : results) assertArrayEquals(new double[] {3, 5, 20}, r);
    }

    @Test
    void mismatchedCollectivesFailOnEveryRankNamingBothCalls() throws Exception {
        byte[] id = NCCL.uniqueId();
        List<String> messages = onRanks(2, rank -> {
            try (Arena arena = Arena.ofShared(); NcclComm comm = NCCL.initRank(2, id, rank)) {
                MemorySegment x = arena.allocate(ValueLayout.JAVA_FLOAT, 5);
                return assertThrows(CudaException.class,
                        () -> comm.allReduce(x.address(), x.address(), 4 + rank, Nccl.FLOAT32, Nccl.SUM, 0, "all-reduce of bucket 0")).getMessage();
            }
        });
        String expected = "all-reduce of bucket 0: ncclAllReduce failed: ncclInvalidUsage (5): invalid usage (run with NCCL_DEBUG=WARN for details): "
                + "collective 0 does not match: rank 0 called ncclAllReduce(count 4, type 7, op 0, root 0), "
                + "rank 1 called ncclAllReduce(count 5, type 7, op 0, root 0)";
        assertEquals(List.of(expected, expected), messages);
    }

    @Test
    void aHungPeerIsEndedByAbortingFromAnotherThread() throws Exception {
        byte[] id = NCCL.uniqueId();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Arena arena = Arena.ofShared()) {
            Future<NcclComm> c0 = pool.submit(() -> NCCL.initRank(2, id, 0));
            NcclComm comm1 = pool.submit(() -> NCCL.initRank(2, id, 1)).get(10, TimeUnit.SECONDS);
            NcclComm comm0 = c0.get(10, TimeUnit.SECONDS);
            MemorySegment x = arena.allocate(ValueLayout.JAVA_FLOAT, 8);
            // rank 1 never joins this collective, as a rank that hangs or died would not
            Future<?> blocked = pool.submit(() -> comm0.allReduce(x.address(), x.address(), 8, Nccl.FLOAT32, Nccl.SUM, 0, "all-reduce of bucket 2"));
            Thread.sleep(200);
            assertFalse(blocked.isDone(), "rank 0 should wait for rank 1");
            assertEquals(Nccl.SUCCESS, comm0.asyncError());
            comm0.abort();
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> blocked.get(10, TimeUnit.SECONDS));
            assertEquals("all-reduce of bucket 2: ncclAllReduce failed: ncclRemoteError (6): remote process exited or there was a network error: "
                    + "ncclAllReduce (collective 0 of rank 0) was aborted while waiting for rank(s) 1", e.getCause().getMessage());
            assertFalse(comm0.isOpen());
            comm0.abort(); // a second abort, as a watchdog and a failing step may both call it, is harmless

            int async = comm1.asyncError();
            assertEquals(Nccl.REMOTE_ERROR, async);
            assertEquals("rank 1 of 2 while all-reduce of bucket 2: ncclCommGetAsyncError failed: ncclRemoteError (6): "
                    + "remote process exited or there was a network error: rank 0 aborted its communicator",
                    comm1.asyncFailure(async, "all-reduce of bucket 2").getMessage());
            comm1.abort();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void initSaysWhichArgumentAndWhichRanksAreMissing() throws Throwable {
        byte[] id = NCCL.uniqueId();
        CudaException bad = assertThrows(CudaException.class, () -> NCCL.initRank(2, id, 5));
        assertEquals("joining the NCCL communicator as rank 5 of 2: ncclCommInitRank failed: ncclInvalidArgument (4): "
                + "invalid argument (run with NCCL_DEBUG=WARN for details): rank 5 is outside 0..1", bad.getMessage());
        var timeout = NATIVE.function("fake_nccl_set_init_timeout_ms", FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG));
        timeout.invokeExact(200L);
        try {
            CudaException alone = assertThrows(CudaException.class, () -> NCCL.initRank(3, id, 1));
            assertEquals("joining the NCCL communicator as rank 1 of 3: ncclCommInitRank failed: ncclSystemError (2): "
                    + "unhandled system error (run with NCCL_DEBUG=INFO for details): only 1 of 3 ranks joined within 200 ms; missing: 0, 2",
                    alone.getMessage());
        } finally {
            timeout.invokeExact(60_000L);
        }
        byte[] forged = new byte[Nccl.UNIQUE_ID_BYTES];
        assertNotEquals(0, assertThrows(CudaException.class, () -> NCCL.initRank(1, forged, 0)).status());
    }

    @Test
    void aSingleRankCommunicatorReducesToItself() {
        try (Arena arena = Arena.ofConfined(); NcclComm comm = NCCL.initRank(1, NCCL.uniqueId(), 0)) {
            MemorySegment x = arena.allocateFrom(ValueLayout.JAVA_INT, 3, -4, 5);
            comm.allReduce(x.address(), x.address(), 3, Nccl.INT32, Nccl.SUM, 0, "sum");
            assertArrayEquals(new int[] {3, -4, 5}, x.toArray(ValueLayout.JAVA_INT));
            assertTrue(comm.isOpen());
        }
    }

    /** Runs body on {@code ranks} threads at once, one per rank, and returns their results in rank order. */
    private static <T> List<T> onRanks(int ranks, IntFunction<T> body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                futures.add(pool.submit(() -> body.apply(rank)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) out.add(f.get(30, TimeUnit.SECONDS));
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
