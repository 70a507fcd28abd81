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
        LaunchGeometry c = LaunchGeometry.perChannel(Integer.MAX_VALUE, 3L << 33);
        assertEquals(Integer.MAX_VALUE, c.gridX());
        assertEquals(256, c.threads());
    }

    @Test
    void perChannelBlocksAreWholeWarpsFor64BitPlanes() {
        for (long hw : new long[] {1, 7, 49, 64, 100, 1024, 50176, 1L << 35}) {
            LaunchGeometry g = LaunchGeometry.perChannel(10, hw);
            assertEquals(0, g.threads() % 32, "hw " + hw);
            assertEquals(256, g.threads(), "hw " + hw);
        }
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
