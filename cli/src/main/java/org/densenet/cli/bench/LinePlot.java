package org.densenet.cli.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A line chart with markers written as PNG through java.awt, headless: enough to show how a
 * quantity grows with another (peak memory against depth) without a plotting library.
 */
public final class LinePlot {
    public record Series(String name, double[] x, double[] y) {
        public Series {
            if (x.length != y.length || x.length == 0) throw new IllegalArgumentException("series " + name + " needs as many x as y values, at least one");
            x = x.clone();
            y = y.clone();
        }
    }

    private static final Color[] COLORS = {new Color(0xD6, 0x27, 0x28), new Color(0x1F, 0x77, 0xB4), new Color(0x2C, 0xA0, 0x2C), new Color(0x94, 0x67, 0xBD)};
    private static final int W = 800, H = 520, LEFT = 90, RIGHT = 30, TOP = 50, BOTTOM = 70;

    private LinePlot() {
    }

    public static void write(Path file, String title, String xLabel, String yLabel, List<Series> series) throws IOException {
        System.setProperty("java.awt.headless", "true");
        if (series.isEmpty()) throw new IllegalArgumentException("nothing to plot");
        double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY, yMax = 0;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                xMin = Math.min(xMin, s.x()[i]);
                xMax = Math.max(xMax, s.x()[i]);
                yMax = Math.max(yMax, s.y()[i]);
            }
        }
        if (xMax == xMin) xMax = xMin + 1;
        double yTop = niceCeiling(yMax > 0 ? yMax : 1);

        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, W, H);
            int pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            FontMetrics fm = g.getFontMetrics();
            for (int i = 0; i <= 5; i++) {
                double v = yTop * i / 5;
                int py = TOP + ph - (int) Math.round(ph * v / yTop);
                g.setColor(new Color(0xE0, 0xE0, 0xE0));
                g.drawLine(LEFT, py, LEFT + pw, py);
                g.setColor(Color.DARK_GRAY);
                String label = String.format(Locale.ROOT, yTop >= 10 ? "%.0f" : "%.2f", v);
                g.drawString(label, LEFT - 8 - fm.stringWidth(label), py + fm.getAscent() / 2);
            }
            for (Series s : series) {
                for (double xv : s.x()) {
                    int px = LEFT + (int) Math.round(pw * (xv - xMin) / (xMax - xMin));
                    String label = String.format(Locale.ROOT, "%.0f", xv);
                    g.drawString(label, px - fm.stringWidth(label) / 2, TOP + ph + 18);
                }
            }
            g.setColor(Color.BLACK);
            g.drawRect(LEFT, TOP, pw, ph);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(title, LEFT, TOP - 20);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            fm = g.getFontMetrics();
            g.drawString(xLabel, LEFT + pw / 2 - fm.stringWidth(xLabel) / 2, H - 25);
            Graphics2D gy = (Graphics2D) g.create();
            gy.rotate(-Math.PI / 2);
            gy.drawString(yLabel, -(TOP + ph / 2) - fm.stringWidth(yLabel) / 2, 22);
            gy.dispose();

            for (int k = 0; k < series.size(); k++) {
                Series s = series.get(k);
                g.setColor(COLORS[k % COLORS.length]);
                g.setStroke(new BasicStroke(2.2f));
                Path2D.Double path = new Path2D.Double();
                for (int i = 0; i < s.x().length; i++) {
                    double px = LEFT + pw * (s.x()[i] - xMin) / (xMax - xMin);
                    double py = TOP + ph - ph * s.y()[i] / yTop;
                    if (i == 0) path.moveTo(px, py); else path.lineTo(px, py);
                    g.fillOval((int) Math.round(px) - 4, (int) Math.round(py) - 4, 8, 8);
                }
                g.draw(path);
                int ly = TOP + 20 + 20 * k;
                g.drawLine(LEFT + 15, ly - 4, LEFT + 40, ly - 4);
                g.setColor(Color.BLACK);
                g.drawString(s.name(), LEFT + 48, ly);
            }
        } finally {
            g.dispose();
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        if (!ImageIO.write(img, "png", file.toFile())) throw new IOException("no PNG writer available for " + file);
    }

    private static final double[] ROUND = {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};

    /** The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) that is >= v, so the axis ends near the data. */
    static double niceCeiling(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : ROUND) if (m * p >= v * (1 - 1e-12)) return m * p;
        return 10 * p;
    }
}
