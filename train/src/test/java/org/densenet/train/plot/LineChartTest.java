package org.densenet.train.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.densenet.train.EpochRecord;
import org.densenet.train.RunFolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chart behind the run folder's training curves and {@code densenet bench memory}'s plot. */
class LineChartTest {

    @Test
    void runFolderDrawsEachTrainingCurveInItsColour(@TempDir Path dir) throws IOException {
        try (RunFolder run = new RunFolder(dir, Map.of("model", "test"), 0)) {
            run.add(new EpochRecord(1, 0.1, 2.0, 30, 1.8, 35, 80, 100, 10, 0.5), "test");
            run.add(new EpochRecord(2, 0.1, 1.2, 60, 1.1, 62, 95, 100, 10, 0.5), "test");
            run.add(new EpochRecord(3, 0.01, 0.8, 75, 0.9, 70, 98, 100, 10, 0.5), "test");
        }
        BufferedImage img = ImageIO.read(dir.resolve(RunFolder.PLOT).toFile());
        assertEquals(1000, img.getWidth());
        assertEquals(420, img.getHeight());
        int[] n = count(img, 0x1F77B4, 0xFF7F0E, 0x2CA02C);
        assertTrue(n[0] > 300 && n[1] > 300 && n[2] > 150, "curve pixels: " + n[0] + ", " + n[1] + ", " + n[2]);
        assertFalse(Files.exists(dir.resolve(RunFolder.PLOT + ".tmp")), "the plot is moved into place, no temporary file is left");
    }

    @Test
    void writesAReadablePngWithBothSeriesDrawn(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("sub/memory.png");
        LineChart.write(png, 800, 520, List.of(new LineChart.Panel("peak memory", "depth", "MiB", LineChart.Scale.FROM_ZERO, List.of(
                new LineChart.Series("naive", LineChart.RED, new double[] {40, 100, 160}, new double[] {10, 60, 150}),
                new LineChart.Series("shared", LineChart.BLUE, new double[] {40, 100, 160}, new double[] {5, 12, 20})))));
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(800, img.getWidth());
        assertEquals(520, img.getHeight());
        int[] n = count(img, 0xD62728, 0x1F77B4);
        assertTrue(n[0] > 100 && n[1] > 100, "both series' lines are drawn: " + n[0] + " red, " + n[1] + " blue pixels");
    }

    @Test
    void aValueThatIsNotFiniteLeavesAGapNotAFailure(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("gap.png");
        double nan = Double.NaN;
        LineChart.write(png, 600, 400, List.of(new LineChart.Panel("loss", "epoch", "", LineChart.Scale.FIT, List.of(
                new LineChart.Series("val", LineChart.ORANGE, new double[] {1, 2, 3, 4}, new double[] {nan, nan, nan, nan}),
                new LineChart.Series("train", LineChart.GREEN, new double[] {1, 2, 3, 4}, new double[] {2.0, nan, 1.0, 0.5})))));
        int[] n = count(ImageIO.read(png.toFile()), 0x2CA02C);
        assertTrue(n[0] > 100, "the finite points are joined: " + n[0] + " green pixels");
    }

    @Test
    void rejectsASeriesWhoseLengthsDisagreeOrAChartWithoutLines() {
        assertThrows(IllegalArgumentException.class, () -> new LineChart.Series("s", LineChart.RED, new double[] {1, 2}, new double[] {1}));
        assertThrows(IllegalArgumentException.class, () -> new LineChart.Series("s", LineChart.RED, new double[0], new double[0]));
        assertThrows(IllegalArgumentException.class, () -> new LineChart.Panel("empty", "x", "y", LineChart.Scale.FIT, List.of()));
    }

    @Test
    void axisTopIsARoundNumberAboveTheLargestValue() {
        assertEquals(150, LineChart.niceCeiling(150), 1e-9);
        assertEquals(800, LineChart.niceCeiling(670), 1e-9);
        assertEquals(2.5, LineChart.niceCeiling(2.1), 1e-12);
        assertEquals(1000, LineChart.niceCeiling(1000), 1e-9);
    }

    /** Pixels of exactly each colour, in the order given. */
    private static int[] count(BufferedImage img, int... rgbs) {
        int[] n = new int[rgbs.length];
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                for (int k = 0; k < rgbs.length; k++) if (rgb == rgbs[k]) n[k]++;
            }
        }
        return n;
    }
}
