package org.densenet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CurvePlotTest {
    @Test
    void drawsEachSeriesInItsColour(@TempDir Path dir) throws IOException {
        List<EpochRecord> rows = List.of(new EpochRecord(1, 0.1, 2.0, 30, 1.8, 35, 80, 100, 10),
                new EpochRecord(2, 0.1, 1.2, 60, 1.1, 62, 95, 100, 10), new EpochRecord(3, 0.01, 0.8, 75, 0.9, 70, 98, 100, 10));
        Path f = dir.resolve("curves.png");
        CurvePlot.write(f, rows, "test");
        BufferedImage img = ImageIO.read(f.toFile());
        assertEquals(1000, img.getWidth());
        assertEquals(420, img.getHeight());
        int blue = 0, orange = 0, green = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                if (rgb == 0x1F77B4) blue++;
                if (rgb == 0xFF7F0E) orange++;
                if (rgb == 0x2CA02C) green++;
            }
        }
        assertTrue(blue > 300 && orange > 300 && green > 150, "curve pixels: " + blue + ", " + orange + ", " + green);
    }
}
