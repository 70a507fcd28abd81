package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LinePlotTest {

    @Test
    void writesAReadablePngWithBothSeriesDrawn(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("sub/memory.png");
        LinePlot.write(png, "peak memory", "depth", "MiB", List.of(
                new LinePlot.Series("naive", new double[] {40, 100, 160}, new double[] {10, 60, 150}),
                new LinePlot.Series("shared", new double[] {40, 100, 160}, new double[] {5, 12, 20})));
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(800, img.getWidth());
        int red = 0, blue = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                if (rgb == 0xD62728) red++;
                if (rgb == 0x1F77B4) blue++;
            }
        }
        assertTrue(red > 100 && blue > 100, "both series' lines are drawn: " + red + " red, " + blue + " blue pixels");
    }

    @Test
    void axisTopIsARoundNumberAboveTheLargestValue() {
        assertEquals(150, LinePlot.niceCeiling(150), 1e-9);
        assertEquals(800, LinePlot.niceCeiling(670), 1e-9);
        assertEquals(2.5, LinePlot.niceCeiling(2.1), 1e-12);
        assertEquals(1000, LinePlot.niceCeiling(1000), 1e-9);
    }
}
