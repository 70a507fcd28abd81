package org.densenet.train.data;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/** The datasets the trainer knows, with where they live by default and how they are prepared. */
public enum DatasetKind {
    CIFAR10("cifar10", 10, Path.of("data/cifar10")),
    CIFAR100("cifar100", 100, Path.of("data/cifar100")),
    FASHION_MNIST("fashion-mnist", 10, FashionMnist.DEFAULT_FOLDER),
    IMAGENET("imagenet", 1000, null),
    SYNTHETIC("synthetic", 10, null);

    /** Sizes of the synthetic set: enough batches to time, small enough to generate instantly. */
    public static final int SYNTHETIC_TRAIN = 1024, SYNTHETIC_TEST = 256;

    private final String cliName;
    private final int classes;
    private final Path defaultFolder;

    DatasetKind(String cliName, int classes, Path defaultFolder) {
        this.cliName = cliName;
        this.classes = classes;
        this.defaultFolder = defaultFolder;
    }

    public String cliName() {
        return cliName;
    }

    /** Usual class count (ImageNet's comes from its folders). */
    public int classes() {
        return classes;
    }

    /** Where the data is looked for without --data; null when there is no sensible default. */
    public Path defaultFolder() {
        return defaultFolder;
    }

    public boolean isImageNet() {
        return this == IMAGENET;
    }

    public static DatasetKind parse(String name) {
        String n = name.toLowerCase(Locale.ROOT).replace('_', '-');
        for (DatasetKind k : values()) {
            if (k.cliName.equals(n) || (k == FASHION_MNIST && n.equals("fashionmnist"))) return k;
        }
        throw new IllegalArgumentException("unknown dataset '" + name + "'; choose one of "
                + String.join(", ", Arrays.stream(values()).map(DatasetKind::cliName).toList()) + " (or auto)");
    }

    @Override
    public String toString() {
        return cliName;
    }
}
