package org.densenet.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.densenet.cli.DataOptions;
import org.densenet.cli.Main;
import org.densenet.train.Recipe;
import org.densenet.train.data.Dataset;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Datasets;
import org.densenet.train.data.Decoding;
import org.densenet.train.data.ImageFolder;
import org.densenet.train.data.Transform;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code densenet bench data}: the input pipeline's images per second, per stage and per number of loader threads. */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = {"How fast the input pipeline prepares batches (read, decode, augment; the backend normalises them on upload), with no network: each stage "
                + "alone on one thread, then the training loader with each number of worker threads, drained as fast as it delivers.",
                "A training step cannot go faster than its loader: compare the images per second with 'bench step'. "
                        + "Files read once come from the operating system's cache afterwards."})
final class DataCommand implements Callable<Integer> {
    @Mixin
    DataOptions data;

    @Option(names = "--split", paramLabel = "S", defaultValue = "train",
            description = "train (with the training augmentation) or test (the evaluation transform) (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--no-augment", description = "Time the training split without augmentation, as 'train --no-augment' reads it.")
    boolean noAugment;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N",
            description = "Images per batch (default: the dataset's training recipe: 64, ImageNet 256).")
    Integer batch;

    @Option(names = {"-j", "--workers"}, paramLabel = "N,...", split = ",",
            description = "Loader thread counts to time (default: 1, 2, 4, ... up to the number of cores, and that number).")
    int[] workers;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "2",
            description = "Batches drawn and discarded before timing, for each thread count (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--batches", paramLabel = "N", defaultValue = "20",
            description = "Batches timed for each thread count (default: ${DEFAULT-VALUE}).")
    int batches;

    @Option(names = "--image-size", paramLabel = "S", defaultValue = "32",
            description = "Side of the synthetic dataset's images (default: ${DEFAULT-VALUE}; the other datasets have their own).")
    int imageSize;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the sample order and augmentation (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "1",
            description = "Repeat the whole measurement N times; with several decoders (--decoder turbo,imageio) each worker count "
                    + "runs for every decoder in turn, so a busy machine slows them alike (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Mixin
    OutputOptions output;

    @Override
    public Integer call() {
        Report.Format format = output.format();
        boolean train = switch (split.strip().toLowerCase(Locale.ROOT)) {
            case "train" -> true;
            case "test", "val" -> false;
            default -> throw new Main.UsageError("--split must be train or test, got '" + split + "'");
        };
        if (noAugment && !train) throw new Main.UsageError("--no-augment applies to the train split only; the test split is never augmented");
        if (imageSize < 1) throw new Main.UsageError("image size must be >= 1, got " + imageSize);
        int[] counts = workers != null ? workers : defaultWorkers(Runtime.getRuntime().availableProcessors());
        // Usage errors before the dataset is looked for (listing ImageNet alone reads a million names).
        if (rounds < 1) throw new Main.UsageError("--rounds must be >= 1, got " + rounds);
        List<Decoding> decodings = data.decodings();
        DatasetKind named = data.namedKind();
        check(batch != null ? batch : Recipe.of(named != null ? named : DatasetKind.CIFAR10).batchSize(), counts);
        DatasetKind kind = data.kind();
        int b = batch != null ? batch : Recipe.of(kind).batchSize();
        check(b, counts);
        if (!kind.isImageNet() && decodings.size() > 1) {
            throw new Main.UsageError("--decoder compares decoders of ImageNet's files; " + kind.cliName() + " is stored as pixels");
        }
        Dataset set = Datasets.open(kind, data.folder(), train, data.download(), imageSize, seed, decodings.getFirst());
        List<Dataset> sources = new ArrayList<>();
        for (Decoding d : decodings) sources.add(set instanceof ImageFolder f ? f.withDecoding(d) : set);
        boolean augment = train && !noAugment;
        Transform t = train ? Datasets.trainTransform(kind, set, augment) : Datasets.evalTransform(kind, set);
        DataBench.Setup setup = new DataBench.Setup(sources, t, describe(kind, augment), b, counts, warmup, batches, seed, rounds);
        int cores = Runtime.getRuntime().availableProcessors();
        RunInfo info = RunInfo.collect("cpu (" + cores + " core" + (cores == 1 ? "" : "s") + "; input pipeline only, no network)", Map.of());
        DataBench.run(setup, info).print(System.out, format);
        return 0;
    }

    /** 1, 2, 4, ... below {@code cores}, then {@code cores}. */
    static int[] defaultWorkers(int cores) {
        List<Integer> counts = new ArrayList<>();
        for (int w = 1; w < cores; w *= 2) counts.add(w);
        counts.add(Math.max(1, cores));
        return counts.stream().mapToInt(Integer::intValue).toArray();
    }

    private static String describe(DatasetKind kind, boolean augment) {
        if (kind.isImageNet()) {
            return augment ? "random-resized crop to " + Datasets.IMAGENET_CROP + " (scale 0.08-1, aspect 3/4-4/3), flip"
                    : "resize to " + Datasets.IMAGENET_RESIZE + ", centre crop " + Datasets.IMAGENET_CROP;
        }
        return augment ? "pad 4, random crop, flip" : "as stored";
    }

    private void check(int b, int[] counts) {
        try {
            DataBench.Setup.check(b, counts, warmup, batches);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }
}
