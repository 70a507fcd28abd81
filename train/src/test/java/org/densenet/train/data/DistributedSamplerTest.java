package org.densenet.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

class DistributedSamplerTest {
    private static final long SEED = 42;

    @Test
    void withDropLastTheShardsAreDisjointAndCoverTheEvenPartOfThePermutationForEveryRankCount() {
        for (int n : new int[] {8, 13, 100, 101}) {
            for (int ranks = 1; ranks <= 8 && ranks <= n; ranks++) {
                int[] perm = BatchLoader.shuffled(n, SEED, 3);
                int[] seen = new int[n];
                for (int r = 0; r < ranks; r++) {
                    int[] shard = new DistributedSampler(n, ranks, r, true).shard(SEED, 3);
                    assertEquals(n / ranks, shard.length);
                    for (int s : shard) seen[s]++;
                }
                int kept = n / ranks * ranks;
                for (int i = 0; i < n; i++) {
                    assertEquals(i < kept ? 1 : 0, seen[perm[i]], "n " + n + ", " + ranks + " ranks, position " + i);
                }
            }
        }
    }

    @Test
    void withoutDropLastEverySampleIsReadAndOnlyTheWrappedHeadTwice() {
        for (int n : new int[] {1, 5, 13, 100}) {
            for (int ranks = 1; ranks <= 8; ranks++) {
                int[] perm = BatchLoader.shuffled(n, SEED, 0);
                int[] seen = new int[n];
                int m = (n + ranks - 1) / ranks;
                for (int r = 0; r < ranks; r++) {
                    int[] shard = new DistributedSampler(n, ranks, r, false).shard(SEED, 0);
                    assertEquals(m, shard.length, "every rank reads as many samples, so all make the same number of steps");
                    for (int s : shard) seen[s]++;
                }
                int padding = m * ranks - n;
                for (int i = 0; i < n; i++) {
                    int expected = 1 + padding / n + (i < padding % n ? 1 : 0);
                    assertEquals(expected, seen[perm[i]], "n " + n + ", " + ranks + " ranks, position " + i);
                }
            }
        }
    }

    @Test
    void theRanksBatchesTogetherAreTheSingleProcessBatchOfRTimesTheSize() {
        int n = 96, b = 4;
        for (int ranks : new int[] {1, 2, 3, 4, 6}) {
            int[] single = BatchLoader.shuffled(n, SEED, 7);
            int[][] shards = new int[ranks][];
            for (int r = 0; r < ranks; r++) shards[r] = new DistributedSampler(n, ranks, r, false).shard(SEED, 7);
            int global = ranks * b;
            for (int k = 0; k * global < n; k++) {
                int[] union = new int[0];
                for (int[] shard : shards) {
                    int[] batch = Arrays.copyOfRange(shard, k * b, Math.min(shard.length, (k + 1) * b));
                    union = concat(union, batch);
                }
                int[] expected = Arrays.copyOfRange(single, k * global, Math.min(n, (k + 1) * global));
                Arrays.sort(union);
                Arrays.sort(expected);
                assertArrayEquals(expected, union, ranks + " ranks, batch " + k);
            }
        }
    }

    @Test
    void oneRankReadsTheSingleProcessOrderAndEpochsDiffer() {
        assertArrayEquals(BatchLoader.shuffled(50, SEED, 2), new DistributedSampler(50, 1, 0, false).shard(SEED, 2));
        DistributedSampler s = new DistributedSampler(50, 2, 1, false);
        assertArrayEquals(s.shard(SEED, 2), s.shard(SEED, 2));
        assertFalse(Arrays.equals(s.shard(SEED, 2), s.shard(SEED, 3)));
    }

    @Test
    void evaluationShardsPartitionTheSetWithoutPadding() {
        for (int n : new int[] {0, 1, 7, 10}) {
            for (int ranks = 1; ranks <= 4; ranks++) {
                boolean[] seen = new boolean[n];
                int total = 0;
                for (int r = 0; r < ranks; r++) {
                    for (int i : DistributedSampler.evalShard(n, ranks, r)) {
                        assertFalse(seen[i], "sample " + i + " twice");
                        seen[i] = true;
                        total++;
                    }
                }
                assertEquals(n, total);
            }
        }
    }

    @Test
    void invalidArgumentsAreRefusedSayingWhy() {
        assertEquals("rank 2 is outside 0..1", assertThrows(IllegalArgumentException.class, () -> new DistributedSampler(10, 2, 2, false)).getMessage());
        assertEquals("dropping the uneven tail of 3 samples over 4 ranks leaves none",
                assertThrows(IllegalArgumentException.class, () -> new DistributedSampler(3, 4, 0, true)).getMessage());
        assertTrue(new DistributedSampler(0, 2, 1, false).shard(SEED, 0).length == 0);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
