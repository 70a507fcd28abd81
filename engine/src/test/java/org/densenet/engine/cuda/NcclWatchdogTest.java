package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.densenet.engine.cuda.ffm.FakeLibraries;
import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.engine.cuda.ffm.NcclComm;
import org.densenet.engine.cuda.ffm.NativeLibrary;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The watchdog over the stand-in NCCL, ranks as threads: a rank that never reaches a collective
 * ends the one waiting for it within the timeout, and that abort ends the idle rank too.
 */
class NcclWatchdogTest {
    private static Nccl nccl;

    @BeforeAll
    static void load() throws NativeLibrary.LoadFailure {
        var lib = FakeLibraries.build("nccl", "libnccl.so.2", "-pthread", "-Wl,--no-undefined");
        nccl = new Nccl(NativeLibrary.open(lib.toString()), lib.toString());
    }

    @Test
    void aHungPeerEndsTheWaitingRankWithinTheTimeoutAndTheAbortReachesThePeer() throws Exception {
        byte[] id = nccl.uniqueId();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Arena arena = Arena.ofShared()) {
            Future<NcclComm> f1 = pool.submit(() -> nccl.initRank(2, id, 1));
            NcclComm comm0 = nccl.initRank(2, id, 0);
            NcclComm comm1 = f1.get(10, TimeUnit.SECONDS);
            MemorySegment grads = arena.allocate(ValueLayout.JAVA_FLOAT, 16);
            try (NcclWatchdog dog0 = new NcclWatchdog(comm0, Duration.ofMillis(400), Duration.ofMillis(20));
                 NcclWatchdog dog1 = new NcclWatchdog(comm1, Duration.ofMillis(400), Duration.ofMillis(20))) {
                long start = System.nanoTime();
                RuntimeException thrown;
                dog0.begin("all-reduce of bucket 1 of step 7");
                try {
                    comm0.allReduce(grads.address(), grads.address(), 16, Nccl.FLOAT32, Nccl.AVG, 0, "all-reduce of bucket 1 of step 7");
                    throw new AssertionError("rank 1 never joined; the all-reduce cannot have completed");
                } catch (CudaException e) {
                    thrown = dog0.explain(e);
                }
                double waited = (System.nanoTime() - start) / 1e9;
                assertTrue(waited >= 0.4 && waited < 3, "rank 0 was ended after " + waited + " s");
                assertEquals("rank 0 of 2: all-reduce of bucket 1 of step 7 did not complete within 0.4 s (--nccl-timeout); another rank died, "
                        + "hangs or never reached it; the communicator was aborted", thrown.getMessage());
                assertTrue(thrown.getCause().getMessage().endsWith("was aborted while waiting for rank(s) 1"), thrown.getCause().getMessage());
                assertFalse(comm0.isOpen());

                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
                while (dog1.failure() == null && System.nanoTime() < deadline) Thread.sleep(10);
                assertEquals("rank 1 of 2 while idle between collectives: ncclCommGetAsyncError failed: ncclRemoteError (6): remote process exited "
                        + "or there was a network error: rank 0 aborted its communicator; the communicator was aborted", dog1.failure());
                assertFalse(comm1.isOpen());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void collectivesThatCompleteInTimeLeaveTheCommunicatorAlone() throws Exception {
        try (Arena arena = Arena.ofConfined(); NcclComm comm = nccl.initRank(1, nccl.uniqueId(), 0);
             NcclWatchdog dog = new NcclWatchdog(comm, Duration.ofMillis(200), Duration.ofMillis(10))) {
            MemorySegment x = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f, 2f);
            for (int step = 0; step < 5; step++) {
                dog.begin("step " + step);
                comm.allReduce(x.address(), x.address(), 2, Nccl.FLOAT32, Nccl.SUM, 0, "step " + step);
                dog.end();
                Thread.sleep(60);
            }
            assertNull(dog.failure());
            assertTrue(comm.isOpen());
            assertEquals("0.2 s", NcclWatchdog.seconds(Duration.ofMillis(200)));
            assertEquals("300 s", NcclWatchdog.seconds(Duration.ofMinutes(5)));
        }
    }
}
