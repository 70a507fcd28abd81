package org.densenet.train.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import javax.imageio.ImageIO;
import org.densenet.engine.io.AtomicFile;

/**
 * Line charts with markers, one or more panels side by side, written as PNG through headless
 * java.awt: training curves and bench results without a plotting library. The file is replaced
 * atomically, so a reader never sees half a chart while a run rewrites it after every epoch.
 */
public final class LineChart {
    public static final Color BLUE = new Color(0x1F77B4), ORANGE = new Color(0xFF7F0E), GREEN = new Color(0x2CA02C),
            RED = new Color(0xD62728);

    /** One line through (x[i], y[i]); a point whose y is not finite (an epoch without evaluation) is skipped. */
    public record Series(String name, Color color, double[] x, double[] y) {
        public Series {
            if (name == null || color == null) throw new IllegalArgumentException("a series needs a name and a colour");
            if (x.length != y.length || x.length == 0) {
                throw new IllegalArgumentException("series " + name + " needs as many x as y values, at least one; got " + x.length + " x, "
                        + y.length + " y");
            }
            for (double v : x) if (!Double.isFinite(v)) throw new IllegalArgumentException("series " + name + " has an x value of " + v);
            x = x.clone();
            y = y.clone();
        }
    }

    /** How a panel's y axis is laid out. */
    public enum Scale {
        /** From 0 to a round number at or above the largest value: sizes, counts. */
        FROM_ZERO,
        /** The values' range with 5% room either side, not below 0 when no value is: losses. */
        FIT,
        /** Percent in steps of 10 (20 for a range over 50), within 0 to 100: accuracies. */
        PERCENT
    }

    /** One chart: a title, axis labels ({@code yLabel} may be empty where the title says it) and its lines. */
    public record Panel(String title, String xLabel, String yLabel, Scale scale, List<Series> series) {
        public Panel {
            if (series == null || series.isEmpty()) throw new IllegalArgumentException("panel '" + title + "' has nothing to plot");
            series = List.copyOf(series);
        }
    }

    private record Axis(double lo, double hi, int ticks, String format) {
    }

    private static final int LEFT = 80, RIGHT = 20, TOP = 44, BOTTOM = 56;

    private LineChart() {
    }

    /** Draws the panels side by side, each {@code width / panels.size()} pixels wide, into {@code file}. */
    public static void write(Path file, int width, int height, List<Panel> panels) throws IOException {
        if (panels.isEmpty()) throw new IllegalArgumentException("nothing to plot");
        if (width / panels.size() <= LEFT + RIGHT + 40 || height <= TOP + BOTTOM + 40) {
            throw new IllegalArgumentException("a " + width + "x" + height + " image is too small for " + panels.size() + " panel(s)");
        }
        System.setProperty("java.awt.headless", "true");
        BufferedImage img;
        try {
            img = draw(width, height, panels);
        } catch (RuntimeException | InternalError | UnsatisfiedLinkError e) {
            // Java 2-D fails this way on servers without fonts or fontconfig; callers treat a
            // chart as optional, so it becomes an ordinary I/O failure they can report and skip.
            throw new IOException("cannot draw " + file + ": Java 2-D graphics failed (" + e
                    + "); a server without fonts needs e.g. Debian's fonts-dejavu-core", e);
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        if (!ImageIO.write(img, "png", png)) throw new IOException("no PNG writer available for " + file);
        AtomicFile.write(file, png.toByteArray());
    }

    private static BufferedImage draw(int width, int height, List<Panel> panels) {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            int pw = width / panels.size();
            for (int i = 0; i < panels.size(); i++) panel(g, i * pw, pw, height, panels.get(i));
        } finally {
            g.dispose();
        }
        return img;
    }

    private static void panel(Graphics2D g, int x0, int width, int height, Panel p) {
        int left = x0 + LEFT, right = x0 + width - RIGHT, top = TOP, bottom = height - BOTTOM;
        double xMin = Double.POSITIVE_INFINITY, xMax = Double.NEGATIVE_INFINITY;
        TreeSet<Double> xs = new TreeSet<>();
        boolean integral = true;
        for (Series s : p.series()) {
            for (double v : s.x()) {
                xMin = Math.min(xMin, v);
                xMax = Math.max(xMax, v);
                xs.add(v);
                integral &= v == Math.rint(v);
            }
        }
        if (xMax == xMin) xMax = xMin + 1;
        Axis y = yAxis(p);
        Frame f = new Frame(left, right, top, bottom, xMin, xMax, y.lo(), y.hi());

        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        for (int i = 0; i <= y.ticks(); i++) {
            double v = y.lo() + (y.hi() - y.lo()) * i / y.ticks();
            int py = (int) Math.round(f.py(v));
            g.setColor(new Color(0xE0, 0xE0, 0xE0));
            g.drawLine(left + 1, py, right - 1, py);
            g.setColor(Color.DARK_GRAY);
            String label = String.format(Locale.ROOT, y.format(), v);
            g.drawString(label, left - 8 - fm.stringWidth(label), py + fm.getAscent() / 2);
        }
        // Every x value is labelled when there are few (depths of a sweep); otherwise six evenly spaced ones (epochs).
        if (xs.size() > 12) {
            xs.clear();
            for (int i = 0; i <= 5; i++) {
                double v = xMin + (xMax - xMin) * i / 5;
                xs.add(integral ? Math.rint(v) : v);
            }
        }
        for (double v : xs) {
            String label = v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.3g", v);
            g.drawString(label, (int) Math.round(f.px(v)) - fm.stringWidth(label) / 2, bottom + 18);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(p.title(), left, top - 16);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        fm = g.getFontMetrics();
        g.drawString(p.xLabel(), (left + right) / 2 - fm.stringWidth(p.xLabel()) / 2, height - 16);
        if (!p.yLabel().isEmpty()) {
            Graphics2D gy = (Graphics2D) g.create();
            gy.rotate(-Math.PI / 2);
            gy.drawString(p.yLabel(), -(top + bottom) / 2 - fm.stringWidth(p.yLabel()) / 2, x0 + 20);
            gy.dispose();
        }

        g.setStroke(new BasicStroke(2f));
        for (Series s : p.series()) {
            g.setColor(s.color());
            Path2D.Double line = new Path2D.Double();
            boolean started = false;
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.y()[i])) continue;
                double px = f.px(s.x()[i]), py = f.py(s.y()[i]);
                if (started) line.lineTo(px, py); else line.moveTo(px, py);
                started = true;
                g.fillOval((int) Math.round(px) - 3, (int) Math.round(py) - 3, 7, 7);
            }
            g.draw(line);
        }
        legend(g, f, p.series());
    }

    /** The plot area in pixels and the values at its edges. */
    private record Frame(int left, int right, int top, int bottom, double xMin, double xMax, double yLo, double yHi) {
        double px(double x) {
            return left + (right - left) * (x - xMin) / (xMax - xMin);
        }

        double py(double y) {
            return bottom - (bottom - top) * (y - yLo) / (yHi - yLo);
        }
    }

    private static Axis yAxis(Panel p) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (Series s : p.series()) {
            for (double v : s.y()) {
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
        switch (p.scale()) {
            case FROM_ZERO -> {
                double top = niceCeiling(hi > 0 ? hi : 1);
                return new Axis(0, top, 5, top >= 10 ? "%.0f" : "%.2f");
            }
            case PERCENT -> {
                double step = hi - lo <= 50 ? 10 : 20;
                lo = Math.max(0, Math.floor(lo / step) * step);
                hi = Math.min(100, Math.max(lo + step, Math.ceil(hi / step) * step));
                return new Axis(lo, hi, Math.max(1, (int) Math.round((hi - lo) / step)), "%.0f");
            }
            default -> {
                double pad = 0.05 * (hi - lo);
                lo = lo >= 0 ? Math.max(0, lo - pad) : lo - pad;
                hi += pad;
                if (hi - lo < 1e-9) hi = lo + 1;
                return new Axis(lo, hi, 5, "%.3g");
            }
        }
    }

    /** A boxed legend in the corner of the plot area that lines pass through least (or near), so it hides as little as it can. */
    private static void legend(Graphics2D g, Frame f, List<Series> series) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        FontMetrics fm = g.getFontMetrics();
        int w = 0;
        for (Series s : series) w = Math.max(w, fm.stringWidth(s.name()));
        w += 40;
        int h = 16 * series.size() + 6;
        int[][] corners = {{f.left() + 8, f.top() + 8}, {f.right() - 8 - w, f.top() + 8}, {f.right() - 8 - w, f.bottom() - 8 - h},
                {f.left() + 8, f.bottom() - 8 - h}};
        int lx = corners[0][0], ly = corners[0][1], fewest = Integer.MAX_VALUE;
        for (int[] c : corners) {
            int n = pointsInside(f, series, c[0] - 6, c[1] - 6, w + 12, h + 12);
            if (n < fewest) {
                fewest = n;
                lx = c[0];
                ly = c[1];
            }
        }
        g.setStroke(new BasicStroke(1f));
        g.setColor(Color.WHITE);
        g.fillRect(lx, ly, w, h);
        g.setColor(Color.GRAY);
        g.drawRect(lx, ly, w, h);
        g.setStroke(new BasicStroke(2f));
        for (int i = 0; i < series.size(); i++) {
            int y = ly + 16 * (i + 1);
            g.setColor(series.get(i).color());
            g.drawLine(lx + 6, y - 4, lx + 26, y - 4);
            g.setColor(Color.BLACK);
            g.drawString(series.get(i).name(), lx + 32, y);
        }
        g.setStroke(new BasicStroke(1f));
    }

    /** How many points along the lines (each point, and 15 more along each segment) fall into the box. */
    private static int pointsInside(Frame f, List<Series> series, int bx, int by, int bw, int bh) {
        int n = 0;
        for (Series s : series) {
            double qx = Double.NaN, qy = Double.NaN;
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.y()[i])) continue;
                double px = f.px(s.x()[i]), py = f.py(s.y()[i]);
                int from = Double.isNaN(qx) ? 16 : 1;
                for (int k = from; k <= 16; k++) {
                    double sx = from == 16 ? px : qx + (px - qx) * k / 16, sy = from == 16 ? py : qy + (py - qy) * k / 16;
                    if (sx >= bx && sx <= bx + bw && sy >= by && sy <= by + bh) n++;
                }
                qx = px;
                qy = py;
            }
        }
        return n;
    }

    private static final double[] ROUND = {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};

    /** The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) that is >= v, so the axis ends near the data. */
    static double niceCeiling(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : ROUND) if (m * p >= v * (1 - 1e-12)) return m * p;
        return 10 * p;
    }
}
