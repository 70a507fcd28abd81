package org.densenet.train;

import java.util.Locale;

/**
 * One line of summary.csv: an epoch's learning rate (at its last step), training loss and top-1,
 * evaluation loss, top-1 and top-5 (accuracies in percent), training speed and wall time.
 */
public record EpochRecord(int epoch, double lr, double trainLoss, double trainTop1, double valLoss, double valTop1,
                          double valTop5, double imagesPerSecond, double seconds) {
    public static final String HEADER = "epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top5,images_per_s,seconds";

    public String csv() {
        return String.format(Locale.ROOT, "%d,%.6g,%.6f,%.4f,%.6f,%.4f,%.4f,%.2f,%.3f",
                epoch, lr, trainLoss, trainTop1, valLoss, valTop1, valTop5, imagesPerSecond, seconds);
    }

    public static EpochRecord parse(String line) {
        String[] f = line.split(",");
        if (f.length != 9) throw new IllegalArgumentException("summary.csv line has " + f.length + " fields, expected 9: " + line);
        return new EpochRecord(Integer.parseInt(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
                Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7]),
                Double.parseDouble(f[8]));
    }
}
