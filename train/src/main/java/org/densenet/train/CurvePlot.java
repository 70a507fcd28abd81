package org.densenet.train;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/** Draws loss and accuracy per epoch into a PNG (headless java.awt), replaced atomically after every epoch. */
public final class CurvePlot {
    private static final int W = 1000, H = 420, PANEL = W / 2, MARGIN_L = 60, MARGIN_R = 20, MARGIN_T = 36, MARGIN_B = 44;
    private static final Color TRAIN = new Color(31, 119, 180), VAL = new Color(255, 127, 14), TOP5 = new Color(44, 160, 44);

    private CurvePlot() {
    }

    public static void write(Path file, List<EpochRecord> rows, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, W, H);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            panel(g, 0, rows, "loss  " + title, List.of(
                    new Series("train", TRAIN, EpochRecord::trainLoss), new Series("val", VAL, EpochRecord::valLoss)), false);
            panel(g, PANEL, rows, "accuracy (%)", List.of(
                    new Series("train top-1", TRAIN, EpochRecord::trainTop1), new Series("val top-1", VAL, EpochRecord::valTop1),
                    new Series("val top-5", TOP5, EpochRecord::valTop5)), true);
        } finally {
            g.dispose();
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        ImageIO.write(img, "png", tmp.toFile());
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private record Series(String name, Color color, ToDoubleFunction<EpochRecord> value) {
    }

    private static void panel(Graphics2D g, int x0, List<EpochRecord> rows, String title, List<Series> series, boolean percent) {
        int left = x0 + MARGIN_L, right = x0 + PANEL - MARGIN_R, top = MARGIN_T, bottom = H - MARGIN_B;
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (EpochRecord r : rows) {
            for (Series s : series) {
                double v = s.value().applyAsDouble(r);
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (!(lo <= hi)) {
            lo = 0;
            hi = 1;
        }
        int ticks = 5;
        if (percent) {
            double step = hi - lo <= 50 ? 10 : 20;
            lo = Math.max(0, Math.floor(lo / step) * step);
            hi = Math.min(100, Math.max(lo + step, Math.ceil(hi / step) * step));
            ticks = (int) Math.round((hi - lo) / step);
        } else {
            lo = Math.max(0, lo - 0.05 * (hi - lo));
            hi = hi + 0.05 * (hi - lo);
        }
        if (hi - lo < 1e-9) hi = lo + 1;
        int maxEpoch = Math.max(2, rows.isEmpty() ? 2 : rows.getLast().epoch());
        g.setColor(Color.BLACK);
        g.drawString(title, left, top - 14);
        for (int i = 0; i <= ticks; i++) {
            double v = lo + (hi - lo) * i / ticks;
            int y = bottom - (int) Math.round((bottom - top) * (double) i / ticks);
            g.setColor(new Color(230, 230, 230));
            g.drawLine(left + 1, y, right - 1, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, percent ? "%.0f" : "%.3g", v), x0 + 8, y + 4);
        }
        for (int i = 0; i <= 5; i++) {
            int e = 1 + (int) Math.round((maxEpoch - 1) * i / 5.0);
            int x = left + (int) Math.round((right - left) * (e - 1.0) / (maxEpoch - 1));
            g.drawString(Integer.toString(e), x - 4, bottom + 16);
        }
        g.drawString("epoch", (left + right) / 2 - 16, bottom + 34);
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        g.setStroke(new BasicStroke(2f));
        for (Series s : series) {
            g.setColor(s.color());
            int px = -1, py = -1;
            for (EpochRecord r : rows) {
                double v = s.value().applyAsDouble(r);
                if (!Double.isFinite(v)) continue;
                int x = left + (int) Math.round((right - left) * (r.epoch() - 1.0) / (maxEpoch - 1));
                int y = bottom - (int) Math.round((bottom - top) * (v - lo) / (hi - lo));
                if (px >= 0) g.drawLine(px, py, x, y);
                g.fillOval(x - 2, y - 2, 5, 5);
                px = x;
                py = y;
            }
        }
        // Legend in a box of its own, so it never hides a curve's label.
        int lx = right - 124, ly = top + 8;
        g.setStroke(new BasicStroke(1f));
        g.setColor(Color.WHITE);
        g.fillRect(lx, ly, 116, 16 * series.size() + 6);
        g.setColor(Color.GRAY);
        g.drawRect(lx, ly, 116, 16 * series.size() + 6);
        g.setStroke(new BasicStroke(2f));
        for (int i = 0; i < series.size(); i++) {
            int y = ly + 16 * (i + 1);
            g.setColor(series.get(i).color());
            g.drawLine(lx + 6, y - 4, lx + 26, y - 4);
            g.drawString(series.get(i).name(), lx + 32, y);
        }
        g.setStroke(new BasicStroke(1f));
    }
}
