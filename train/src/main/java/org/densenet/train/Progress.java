package org.densenet.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of one pass over a dataset. On a terminal: a bar redrawn in place with images/s, loss,
 * accuracy and ETA. Otherwise (a log file, a pipe): a plain line every {@code intervalSeconds}.
 */
public final class Progress {
    private static final int BAR = 24;
    private final PrintStream out;
    private final boolean terminal;
    private final String label;
    private final int totalBatches;
    private final double intervalSeconds;
    private final long startNanos = System.nanoTime();
    private long lastPrint = System.nanoTime();
    private boolean drewBar;

    public Progress(PrintStream out, boolean terminal, String label, int totalBatches, double intervalSeconds) {
        this.out = out;
        this.terminal = terminal;
        this.label = label;
        this.totalBatches = totalBatches;
        this.intervalSeconds = intervalSeconds;
    }

    /** True when output goes to an interactive terminal. */
    public static boolean isTerminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    /**
     * After batch {@code done} (1-based count of batches finished in this pass, of which {@code
     * doneHere} ran in this process) with {@code images} images seen here.
     */
    public void update(int done, int doneHere, long images, double loss, double top1) {
        long now = System.nanoTime();
        double sinceLast = (now - lastPrint) / 1e9;
        boolean last = done == totalBatches;
        if (terminal ? sinceLast < 0.2 && !last : sinceLast < intervalSeconds) return;
        lastPrint = now;
        double elapsed = (now - startNanos) / 1e9;
        double rate = images / Math.max(elapsed, 1e-9);
        double eta = doneHere > 0 ? elapsed / doneHere * (totalBatches - done) : Double.NaN;
        String stats = String.format(Locale.ROOT, "%d/%d  %.1f img/s  loss %.4f  top-1 %.2f%%  ETA %s",
                done, totalBatches, rate, loss, top1, duration(eta));
        if (terminal) {
            int filled = (int) ((long) BAR * done / Math.max(1, totalBatches));
            out.print("\r" + label + " [" + "#".repeat(filled) + "-".repeat(BAR - filled) + "] " + stats + "\u001b[K");
            out.flush();
            drewBar = true;
        } else {
            out.println(label + " " + stats);
        }
    }

    /** Ends the bar's line so the next output starts on a fresh one. */
    public void finish() {
        if (drewBar) {
            out.println();
            drewBar = false;
        }
    }

    public static String duration(double seconds) {
        if (!Double.isFinite(seconds)) return "?";
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
