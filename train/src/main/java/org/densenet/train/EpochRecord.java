package org.densenet.train;

import java.util.Locale;

/**
 * One line of summary.csv: an epoch's learning rate (at its last step), training loss and top-1,
 * evaluation loss, top-1 and top-5 (accuracies in percent), training speed, wall time, and the
 * seconds training spent waiting for the loader's batches (NaN, an empty field, for rows written
 * before that was recorded).
 */
public record EpochRecord(int epoch, double lr, double trainLoss, double trainTop1, double valLoss, double valTop1,
                          double valTop5, double imagesPerSecond, double seconds, double dataWaitSeconds) {
    public static final String HEADER = "epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top5,images_per_s,seconds,data_wait_s";

    public String csv() {
        return String.format(Locale.ROOT, "%d,%.6g,%.6f,%.4f,%.6f,%.4f,%.4f,%.2f,%.3f,%s",
                epoch, lr, trainLoss, trainTop1, valLoss, valTop1, valTop5, imagesPerSecond, seconds,
                Double.isNaN(dataWaitSeconds) ? "" : String.format(Locale.ROOT, "%.3f", dataWaitSeconds));
    }

    /** A line of summary.csv: ten fields, or the nine of files written before data_wait_s. */
    public static EpochRecord parse(String line) {
        String[] f = line.split(",", -1);
        if (f.length != 9 && f.length != 10) {
            throw new IllegalArgumentException("summary.csv line has " + f.length + " fields, expected 10: " + line);
        }
        double wait = f.length == 10 && !f[9].isEmpty() ? Double.parseDouble(f[9]) : Double.NaN;
        return new EpochRecord(Integer.parseInt(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7]),
                Double.parseDouble(f[8]), wait);
    }
}
