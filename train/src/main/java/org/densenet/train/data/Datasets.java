package org.densenet.train.data;

import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a dataset split and makes the transforms the paper's recipes use for it. */
public final class Datasets {
    /** ImageNet sizes: random-resized crops of 224 for training; shorter side 256, centre 224 for evaluation. */
    public static final int IMAGENET_CROP = 224, IMAGENET_RESIZE = 256;

    private Datasets() {
    }

    /**
     * The training ({@code train}) or test split. {@code folder} null means the kind's default.
     * {@code syntheticSide} sets the synthetic images' size (ignored for the others).
     */
    public static Dataset open(DatasetKind kind, Path folder, boolean train, boolean download, int syntheticSide, long seed) {
        return open(kind, folder, train, download, syntheticSide, seed, Decoding.DEFAULT);
    }

    /** As above; {@code decoding} says how ImageNet's files are decoded (the other datasets are stored as pixels). */
    public static Dataset open(DatasetKind kind, Path folder, boolean train, boolean download, int syntheticSide, long seed,
                               Decoding decoding) {
        Path dir = folder != null ? folder : kind.defaultFolder();
        if (dir == null && kind == DatasetKind.IMAGENET) {
            throw new DataException("ImageNet has no default folder: pass --data DIR with DIR/train/<wnid>/*.JPEG and DIR/val/<wnid>/*.JPEG");
        }
        return switch (kind) {
            case CIFAR10 -> Cifar.load(Cifar.CIFAR10, dir, train, download);
            case CIFAR100 -> Cifar.load(Cifar.CIFAR100, dir, train, download);
            case FASHION_MNIST -> FashionMnist.load(dir, train);
            case IMAGENET -> ImageFolder.load(dir, train ? "train" : "val", decoding);
            case SYNTHETIC -> new SyntheticDataset("synthetic " + (train ? "train" : "test"),
                    train ? DatasetKind.SYNTHETIC_TRAIN : DatasetKind.SYNTHETIC_TEST, kind.classes(), 3, syntheticSide, seed);
        };
    }

    public static Normalization normalization(DatasetKind kind) {
        return switch (kind) {
            case CIFAR10 -> Normalization.CIFAR10;
            case CIFAR100 -> Normalization.CIFAR100;
            case FASHION_MNIST -> Normalization.FASHION_MNIST;
            case IMAGENET -> Normalization.IMAGENET;
            case SYNTHETIC -> Normalization.HALF;
        };
    }

    /**
     * Training transform: C10+ (pad 4, random crop, flip) for the small-image sets, random-resized
     * crop with flip for ImageNet; without {@code augment}, only normalisation (ImageNet: the evaluation crop).
     */
    public static Transform trainTransform(DatasetKind kind, Dataset data, boolean augment) {
        if (kind == DatasetKind.IMAGENET) {
            return augment ? new RandomResizedCrop(IMAGENET_CROP, 0.08, Normalization.IMAGENET) : evalTransform(kind, data);
        }
        int side = side(kind, data);
        return new PadCropFlip(data.channels(), side, side, augment ? 4 : 0, augment, normalization(kind));
    }

    public static Transform evalTransform(DatasetKind kind, Dataset data) {
        if (kind == DatasetKind.IMAGENET) return new ResizeCenterCrop(IMAGENET_RESIZE, IMAGENET_CROP, Normalization.IMAGENET);
        return PadCropFlip.eval(data.channels(), side(kind, data), normalization(kind));
    }

    /** Side of the square images {@link #evalTransform} produces. */
    public static int evalSide(DatasetKind kind, Dataset data) {
        return kind == DatasetKind.IMAGENET ? IMAGENET_CROP : side(kind, data);
    }

    private static int side(DatasetKind kind, Dataset data) {
        return switch (data) {
            case ArrayDataset a -> a.height();
            case SyntheticDataset s -> s.side();
            default -> throw new IllegalArgumentException("no fixed image size for " + kind);
        };
    }

    /**
     * Which dataset a folder holds, judged by its file names: CIFAR-10 or CIFAR-100 binary files (or
     * their archive), Fashion-MNIST IDX files, or ImageNet's train/ folder. Without a folder, the
     * first of CIFAR-10 in its default folder and the installed Fashion-MNIST that is present.
     *
     * @throws DataException saying what to install or pass when nothing is found
     */
    public static DatasetKind detect(Path folder) {
        if (folder != null) {
            if (!Files.exists(folder)) throw DataException.at(folder, "data folder not found");
            DatasetKind k = kindOf(folder);
            if (k != null) return k;
            throw DataException.at(folder, "holds no dataset this program recognises (CIFAR-10/100 binary files or archive,"
                    + " Fashion-MNIST IDX files, or ImageNet's train/ and val/ folders); name it with --dataset");
        }
        for (DatasetKind k : new DatasetKind[] {DatasetKind.CIFAR10, DatasetKind.FASHION_MNIST}) {
            if (kindOf(k.defaultFolder()) == k) return k;
        }
        throw new DataException("no dataset found: install Fashion-MNIST (Debian: apt-get install dataset-fashion-mnist, into "
                + FashionMnist.DEFAULT_FOLDER + "), or put CIFAR-10's binary version in " + DatasetKind.CIFAR10.defaultFolder()
                + " (or pass --dataset cifar10 --download to fetch it), or pass --dataset NAME --data DIR");
    }

    private static DatasetKind kindOf(Path dir) {
        if (!Files.isDirectory(dir)) {
            String n = dir.getFileName() == null ? "" : dir.getFileName().toString();
            if (n.equals(Cifar.CIFAR10.archive())) return DatasetKind.CIFAR10;
            if (n.equals(Cifar.CIFAR100.archive())) return DatasetKind.CIFAR100;
            return null;
        }
        for (Path d : new Path[] {dir, dir.resolve(Cifar.CIFAR10.folder()), dir.resolve(Cifar.CIFAR100.folder())}) {
            if (Files.isRegularFile(d.resolve("data_batch_1.bin")) || Files.isRegularFile(d.resolve(Cifar.CIFAR10.archive()))) {
                return DatasetKind.CIFAR10;
            }
            if (Files.isRegularFile(d.resolve("train.bin")) || Files.isRegularFile(d.resolve(Cifar.CIFAR100.archive()))) {
                return DatasetKind.CIFAR100;
            }
        }
        if (Files.isRegularFile(dir.resolve("train-images-idx3-ubyte.gz")) || Files.isRegularFile(dir.resolve("train-images-idx3-ubyte"))) {
            return DatasetKind.FASHION_MNIST;
        }
        if (Files.isDirectory(dir.resolve("train"))) return DatasetKind.IMAGENET;
        return null;
    }

    /** Checks that the test split's labels fit the training split's classes. */
    public static void checkSplits(Dataset train, Dataset test) {
        if (test.numClasses() > train.numClasses()) {
            throw new DataException(test.name() + " has " + test.numClasses() + " classes, more than the "
                    + train.numClasses() + " of " + train.name());
        }
        if (test.channels() != train.channels()) {
            throw new DataException(test.name() + " has " + test.channels() + " channels, " + train.name() + " has " + train.channels());
        }
    }
}
