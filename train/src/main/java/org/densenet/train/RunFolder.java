package org.densenet.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.densenet.engine.io.AtomicFile;
import org.densenet.engine.io.JsonCodec;
import org.densenet.train.plot.LineChart;

/**
 * The outputs of one run, all in one folder: {@value #ARGS} (the resolved settings),
 * {@value #SUMMARY} (one row per epoch), TensorBoard event files, {@value #PLOT}, and the
 * checkpoints {@value #LAST} and {@value #BEST}.
 */
public final class RunFolder implements AutoCloseable {
    public static final String ARGS = "args.json", SUMMARY = "summary.csv", PLOT = "curves.png";
    public static final String LAST = "last.safetensors", BEST = "best.safetensors";

    private final Path dir;
    private final List<EpochRecord> rows = new ArrayList<>();
    /** Null for a rank that writes nothing ({@link #readOnly}). */
    private final TfEventWriter events;
    private boolean plotWarned;

    /**
     * Opens (creating) the folder. Rows of an earlier part of the run (a resume) are kept up to
     * epoch {@code keepEpochs}; later ones, written after the checkpoint being resumed, are dropped.
     */
    public RunFolder(Path dir, Map<String, String> args, int keepEpochs) throws IOException {
        this.dir = Files.createDirectories(dir);
        writeAtomically(dir.resolve(ARGS), JsonCodec.write(args) + "\n");
        Path csv = dir.resolve(SUMMARY);
        if (keepEpochs > 0 && Files.isRegularFile(csv)) {
            for (String line : Files.readAllLines(csv)) {
                if (line.isBlank() || line.startsWith("epoch")) continue;
                EpochRecord r = EpochRecord.parse(line);
                if (r.epoch() <= keepEpochs) rows.add(r);
            }
        }
        writeSummary();
        this.events = new TfEventWriter(dir);
    }

    private RunFolder(Path dir) {
        this.dir = dir;
        this.events = null;
    }

    /**
     * The run folder as a data-parallel rank other than 0 sees it: the same paths, nothing written
     * (one process per GPU would otherwise have every rank write the same files).
     */
    public static RunFolder readOnly(Path dir) {
        return new RunFolder(dir);
    }

    /** Whether this run folder's files are written here (rank 0) or by another rank. */
    public boolean writes() {
        return events != null;
    }

    public Path dir() {
        return dir;
    }

    public Path last() {
        return dir.resolve(LAST);
    }

    public Path best() {
        return dir.resolve(BEST);
    }

    public List<EpochRecord> rows() {
        return List.copyOf(rows);
    }

    /** Adds an epoch's row to the CSV, the TensorBoard scalars and the plot. */
    public void add(EpochRecord r, String title) throws IOException {
        rows.add(r);
        if (!writes()) return;
        writeSummary();
        events.scalar("lr", r.epoch(), r.lr());
        events.scalar("loss/train", r.epoch(), r.trainLoss());
        events.scalar("loss/val", r.epoch(), r.valLoss());
        events.scalar("top1/train", r.epoch(), r.trainTop1());
        events.scalar("top1/val", r.epoch(), r.valTop1());
        events.scalar("top5/val", r.epoch(), r.valTop5());
        events.scalar("images_per_second", r.epoch(), r.imagesPerSecond());
        if (!Double.isNaN(r.dataWaitSeconds())) events.scalar("data_wait_seconds", r.epoch(), r.dataWaitSeconds());
        try {
            writePlot(dir.resolve(PLOT), rows, title);
        } catch (IOException e) {
            // The plot only redraws what summary.csv and the event files already hold: a run
            // must not stop over it. Said once, not every epoch.
            if (!plotWarned) System.err.println("warning: no " + PLOT + " (" + e.getMessage() + "); summary.csv and the TensorBoard events hold the same curves");
            plotWarned = true;
        }
    }

    /** Loss (train, val) and accuracy (train top-1, val top-1, val top-5) against epoch, side by side. */
    private static void writePlot(Path png, List<EpochRecord> rows, String title) throws IOException {
        int n = rows.size();
        double[] epoch = new double[n], trainLoss = new double[n], valLoss = new double[n], trainTop1 = new double[n],
                valTop1 = new double[n], valTop5 = new double[n];
        for (int i = 0; i < n; i++) {
            EpochRecord r = rows.get(i);
            epoch[i] = r.epoch();
            trainLoss[i] = r.trainLoss();
            valLoss[i] = r.valLoss();
            trainTop1[i] = r.trainTop1();
            valTop1[i] = r.valTop1();
            valTop5[i] = r.valTop5();
        }
        LineChart.write(png, 1000, 420, List.of(
                new LineChart.Panel("loss  " + title, "epoch", "", LineChart.Scale.FIT, List.of(
                        new LineChart.Series("train", LineChart.BLUE, epoch, trainLoss),
                        new LineChart.Series("val", LineChart.ORANGE, epoch, valLoss))),
                new LineChart.Panel("accuracy (%)", "epoch", "", LineChart.Scale.PERCENT, List.of(
                        new LineChart.Series("train top-1", LineChart.BLUE, epoch, trainTop1),
                        new LineChart.Series("val top-1", LineChart.ORANGE, epoch, valTop1),
                        new LineChart.Series("val top-5", LineChart.GREEN, epoch, valTop5)))));
    }

    /** A per-step scalar (training loss, learning rate) for TensorBoard. */
    public void stepScalar(String tag, long step, double value) throws IOException {
        if (writes()) events.scalar(tag, step, value);
    }

    private void writeSummary() throws IOException {
        StringBuilder sb = new StringBuilder(EpochRecord.HEADER).append('\n');
        for (EpochRecord r : rows) sb.append(r.csv()).append('\n');
        writeAtomically(dir.resolve(SUMMARY), sb.toString());
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        AtomicFile.write(file, text.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void close() throws IOException {
        if (writes()) events.close();
    }
}
