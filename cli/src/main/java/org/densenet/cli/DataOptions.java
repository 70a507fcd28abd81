package org.densenet.cli;

import java.nio.file.Path;
import org.densenet.train.data.DatasetKind;
import picocli.CommandLine.Option;

/** Which dataset and where it is. Shared by train and eval. */
final class DataOptions {
    @Option(names = "--dataset", paramLabel = "NAME", defaultValue = "cifar10",
            description = "cifar10, cifar100, fashion-mnist, imagenet or synthetic (default: ${DEFAULT-VALUE}).")
    String dataset;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Dataset folder (CIFAR: the .bin files, their folder or the .tar.gz; Fashion-MNIST: the IDX .gz files; "
                    + "ImageNet: train/ and val/). Default: data/cifar10, data/cifar100, /usr/share/datasets/fashion-mnist.")
    Path data;

    @Option(names = "--download", description = "Fetch the official CIFAR archive into the data folder when it is missing (MD5 checked).")
    boolean download;

    DatasetKind kind() {
        try {
            return DatasetKind.parse(dataset);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }

    /** The preset used when no model is given. */
    String defaultModel() {
        return kind().isImageNet() ? "densenet121" : "densenet-bc-100-12";
    }
}
