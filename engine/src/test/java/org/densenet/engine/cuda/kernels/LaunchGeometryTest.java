package org.densenet.engine.cuda.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LaunchGeometryTest {

    @Test
    void rowsGeometryPacksShortRowsIntoOneBlock() {
        LaunchGeometry g = LaunchGeometry.rows(64 * 128, 49);          // 7x7 planes
        assertEquals(64, g.blockX());
        assertEquals(4, g.blockY());
        assertEquals(1, g.gridX());
        assertEquals(64 * 128 / 4, g.gridY());
        assertEquals(256, g.threads());
        LaunchGeometry wide = LaunchGeometry.rows(3, 1024);
        assertEquals(256, wide.blockX());
        assertEquals(1, wide.blockY());
        assertEquals(4, wide.gridX());
        assertEquals(3, wide.gridY());
        assertEquals(32, LaunchGeometry.rows(1, 1).blockX());
    }

    @Test
    void hugeTensorsStayWithinGridLimitsAndStillCoverEveryElementByStriding() {
        long rows = 1L << 40, len = 1L << 40;
        LaunchGeometry g = LaunchGeometry.rows(rows, len);
        assertTrue(g.gridY() <= LaunchGeometry.MAX_GRID_YZ && g.gridX() <= LaunchGeometry.MAX_GRID_X);
        assertEquals(LaunchGeometry.GRID_CAP, g.gridX());
        assertEquals(LaunchGeometry.GRID_CAP, g.gridY());
        LaunchGeometry l = LaunchGeometry.linear(5_000_000_000L);
        assertEquals(LaunchGeometry.GRID_CAP, l.gridX());
        LaunchGeometry c = LaunchGeometry.perChannelChunks(Integer.MAX_VALUE, 3L << 33, LaunchGeometry.chunks(1024, 3L << 33));
        assertEquals(LaunchGeometry.MAX_GRID_YZ, c.gridY(), "channels beyond 65535 are strided");
        assertEquals(LaunchGeometry.MAX_CHUNKS, c.gridX());
        assertEquals(256, c.threads());
    }

    @Test
    void perChannelChunkBlocksAreWholeWarpsFor64BitPlanes() {
        for (long hw : new long[] {1, 7, 49, 64, 100, 1024, 50176, 1L << 35}) {
            LaunchGeometry.Chunks k = LaunchGeometry.chunks(64, hw);
            LaunchGeometry g = LaunchGeometry.perChannelChunks(10, hw, k);
            assertEquals(256, g.threads(), "hw " + hw);
            assertEquals(k.count(), g.gridX(), "hw " + hw);
            assertEquals(10, g.gridY(), "hw " + hw);
        }
    }

    @Test
    void chunksHoldAboutFourThousandValuesAndCoverEverySampleOnce() {
        // CIFAR 32x32, batch 64: 65,536 values a channel in 16 chunks of 4 samples
        assertEquals(new LaunchGeometry.Chunks(4, 16), LaunchGeometry.chunks(64, 32 * 32));
        // ImageNet 56x56: one chunk would be 200,704 values; 2 samples (6,272 values) each
        assertEquals(new LaunchGeometry.Chunks(2, 32), LaunchGeometry.chunks(64, 56 * 56));
        // 8x8 planes: 4,096 values a channel, one chunk
        assertEquals(new LaunchGeometry.Chunks(64, 1), LaunchGeometry.chunks(64, 8 * 8));
        // at most one chunk a sample, and at most MAX_CHUNKS
        assertEquals(new LaunchGeometry.Chunks(1, 3), LaunchGeometry.chunks(3, 112 * 112));
        assertEquals(new LaunchGeometry.Chunks(8, 64), LaunchGeometry.chunks(512, 56 * 56));
        // a shorter last chunk: 10 samples of 33x33 in chunks of 4, 4 and 2
        assertEquals(new LaunchGeometry.Chunks(4, 3), LaunchGeometry.chunks(10, 33 * 33));
        for (int n : new int[] {1, 2, 5, 9, 63, 64, 65, 127, 1000}) {
            for (long hw : new long[] {1, 49, 784, 1089, 3136, 50176}) {
                LaunchGeometry.Chunks k = LaunchGeometry.chunks(n, hw);
                assertTrue(k.count() >= 1 && k.count() <= LaunchGeometry.MAX_CHUNKS && k.count() <= n, n + " x " + hw + ": " + k);
                assertTrue((long) k.samplesPerChunk() * k.count() >= n, "every sample in a chunk: " + n + " x " + hw + ": " + k);
                assertTrue((long) k.samplesPerChunk() * (k.count() - 1) < n, "no empty chunk: " + n + " x " + hw + ": " + k);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.chunks(0, 10));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.chunks(10, 0));
    }

    @Test
    void warpPerRowHasExactlyOneWarpAcross() {
        LaunchGeometry g = LaunchGeometry.warpPerRow(1_000_000);
        assertEquals(32, g.blockX());
        assertEquals(1, g.gridX());
        assertEquals(LaunchGeometry.GRID_CAP, g.gridY());
    }

    @Test
    void invalidGeometriesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new LaunchGeometry(1, 65536, 1, 32, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchGeometry(0, 1, 1, 32, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchGeometry(1, 1, 1, 1024, 2, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new LaunchGeometry(1, 1, 1, 32, 1, 1, 48 * 1024 + 1));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.rows(0, 10));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.linear(-1));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.singleBlock(1000));
    }
}
