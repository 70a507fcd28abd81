package org.densenet.cli;

import java.nio.file.Path;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Datasets;
import picocli.CommandLine.Option;

/** Which dataset and where it is. Shared by train, eval and bench data. */
public final class DataOptions {
    @Option(names = "--dataset", paramLabel = "NAME", defaultValue = "auto",
            description = "cifar10, cifar100, fashion-mnist, imagenet, synthetic, or auto: the one in --data, else CIFAR-10 in"
                    + " data/cifar10, else the installed Fashion-MNIST (default: ${DEFAULT-VALUE}).")
    String dataset;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Dataset folder (CIFAR: the .bin files, their folder or the .tar.gz; Fashion-MNIST: the IDX .gz files; "
                    + "ImageNet: train/ and val/). Default: data/cifar10, data/cifar100, /usr/share/datasets/fashion-mnist.")
    Path data;

    @Option(names = "--download", description = "Fetch the official CIFAR archive into the data folder when it is missing (MD5 checked).")
    boolean download;

    private DatasetKind resolved;

    /** The dataset named, or found (--dataset auto); a data error when auto finds nothing. */
    public DatasetKind kind() {
        if (resolved != null) return resolved;
        DatasetKind named = namedKind();
        return resolved = named != null ? named : Datasets.detect(data);
    }

    /**
     * The dataset --dataset names, null for auto; a usage error for an unknown name. Reads nothing, so
     * commands call it to report usage errors before any dataset is looked for.
     */
    public DatasetKind namedKind() {
        if (dataset.strip().equalsIgnoreCase("auto")) return null;
        try {
            return DatasetKind.parse(dataset);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }

    /** The --data folder, or null for the dataset's default. */
    public Path folder() {
        return data;
    }

    /** Whether --download was given. */
    public boolean download() {
        return download;
    }

    /** Takes {@code kind} unless --dataset named one (a resumed run keeps its dataset). */
    void defaultTo(DatasetKind kind, boolean datasetGiven) {
        if (!datasetGiven) resolved = kind;
    }

    /** The preset used when no model is given. */
    String defaultModel() {
        return defaultModel(kind());
    }

    /** The preset used for {@code kind} when no model is given. */
    static String defaultModel(DatasetKind kind) {
        return kind.isImageNet() ? "densenet121" : "densenet-bc-100-12";
    }
}
