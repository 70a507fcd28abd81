package org.densenet.train.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** Several ranks as threads on the loopback interface, as several processes would meet on a master node. */
class RendezvousTest {
    private static final Duration LONG = Duration.ofSeconds(20);

    @Test
    void everyRankReceivesRankZerosIdWhateverTheOrderOfArrival() throws Exception {
        int port = freePort();
        byte[] id = new byte[128];
        new Random(3).nextBytes(id);
        // the others start first: they must keep knocking until rank 0 listens
        List<Object> results = onThreads(4, r -> {
            if (r == 0) Thread.sleep(300);
            return Rendezvous.share(r, 4, "127.0.0.1", port, r == 0 ? id : null, LONG);
        });
        for (Object got : results) assertArrayEquals(id, (byte[]) got);
    }

    @Test
    void aMissingRankTimesOutNamedOnEveryRankThatCame() throws Exception {
        int port = freePort();
        Duration shortWait = Duration.ofMillis(800);
        long start = System.nanoTime();
        List<Object> results = onThreads(3, r -> r == 2 ? "absent" : Rendezvous.share(r, 4, "localhost", port, r == 0 ? new byte[] {1} : null, shortWait));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 5, "gave up after " + seconds + " s");
        String root = ((Rendezvous.Failure) results.get(0)).getMessage();
        assertTrue(root.startsWith("rendezvous failed: ranks 2, 3 of 4 did not arrive within 0.8 s at port " + port + " (arrived: 0, 1 ("), root);
        assertEquals("rank 1 of 4: rank 0 at localhost:" + port + " says: " + root.substring("rendezvous failed: ".length()),
                ((Rendezvous.Failure) results.get(1)).getMessage());
    }

    @Test
    void aRankWithoutARankZeroGivesUpSayingWhereItLooked() throws Exception {
        int port = freePort();
        Rendezvous.Failure f = (Rendezvous.Failure) onThreads(1, r -> Rendezvous.share(1, 2, "127.0.0.1", port, null, Duration.ofMillis(300))).get(0);
        assertEquals("rank 1 of 2: nothing listened at 127.0.0.1:" + port + " (rank 0) within 0.3 s", f.getMessage());
    }

    @Test
    void aRankThatDisagreesOnTheWorldSizeIsToldWhy() throws Exception {
        int port = freePort();
        List<Object> results = onThreads(3, r -> switch (r) {
            case 0 -> Rendezvous.share(0, 2, "127.0.0.1", port, new byte[] {7}, Duration.ofSeconds(3));
            case 1 -> {
                Thread.sleep(200);
                yield Rendezvous.share(1, 3, "127.0.0.1", port, null, Duration.ofSeconds(3));
            }
            default -> {
                Thread.sleep(600);
                yield Rendezvous.share(1, 2, "127.0.0.1", port, null, Duration.ofSeconds(3));
            }
        });
        String refused = ((Rendezvous.Failure) results.get(1)).getMessage();
        assertTrue(refused.startsWith("rank 1 of 3: rank 0 at 127.0.0.1:" + port + " says: rank 1 on ") && refused.endsWith(" expects 3 ranks, rank 0 expects 2"),
                refused);
        assertArrayEquals(new byte[] {7}, (byte[]) results.get(0));
        assertArrayEquals(new byte[] {7}, (byte[]) results.get(2), "the refusal did not stop the right rank from joining");
    }

    @Test
    void ncclCommIdMakesTheExchangeUnnecessary() {
        assertTrue(Rendezvous.neededWith(Map.of()));
        assertFalse(Rendezvous.neededWith(Map.of("NCCL_COMM_ID", "10.0.0.1:23456")));
        assertArrayEquals(new byte[] {9}, Rendezvous.share(0, 1, "unused", 1, new byte[] {9}, LONG), "one rank needs no network");
    }

    private interface RankBody {
        Object run(int rank) throws Exception;
    }

    /** Runs body on n threads; each result is the returned value or the Rendezvous.Failure thrown. */
    private static List<Object> onThreads(int n, RankBody body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Object>> futures = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                futures.add(pool.submit(() -> body.run(rank)));
            }
            List<Object> out = new ArrayList<>();
            for (Future<Object> f : futures) {
                try {
                    out.add(f.get(30, TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof Rendezvous.Failure failure)) throw e;
                    out.add(failure);
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
