package org.densenet.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import org.densenet.engine.Backend;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.Weights;
import org.densenet.train.Checkpoint;
import org.densenet.train.LrSchedule;
import org.densenet.train.Recipe;
import org.densenet.train.TrainConfig;
import org.densenet.train.Trainer;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.ImageFolder;
import org.densenet.train.dist.LaunchEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code densenet train}: the paper's recipe by default, every setting overridable; resumable. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a DenseNet. Defaults follow the paper: CIFAR and Fashion-MNIST 300 epochs, batch 64; ImageNet 90 epochs,"
                + " batch 256; SGD lr 0.1 divided by 10 at 50%% and 75%% of the epochs (ImageNet: 30 and 60), Nesterov momentum 0.9,"
                + " weight decay 1e-4; standard augmentation.",
                "Writes to the run folder: args.json, summary.csv, TensorBoard events, curves.png, last.safetensors and best.safetensors.",
                "Ctrl-C finishes the current step, saves last.safetensors and exits with status 130; --resume continues exactly."
                        + " Within an epoch, last.safetensors is also saved every --checkpoint-every minutes."})
final class TrainCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    DataOptions data;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", description = "Batch size (default: 64; ImageNet 256).")
    Integer batch;

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs (default: 300; ImageNet 90).")
    Integer epochs;

    @Option(names = "--lr", paramLabel = "LR", description = "Initial learning rate (default: 0.1).")
    Double lr;

    @Option(names = "--momentum", paramLabel = "M", description = "SGD momentum (default: 0.9).")
    Double momentum;

    @Option(names = {"--wd", "--weight-decay"}, paramLabel = "WD", description = "Weight decay (default: 1e-4).")
    Double weightDecay;

    @Option(names = "--nesterov", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Nesterov momentum (default: on; --no-nesterov for plain momentum).")
    boolean nesterov;

    @Option(names = "--schedule", paramLabel = "KIND", defaultValue = "step",
            description = "step (divide by 10 at the milestones) or cosine (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--milestones", paramLabel = "E", split = ",",
            description = "Epochs at which the step schedule divides the rate by 10 (default: 50%% and 75%% of the epochs; ImageNet 30,60).")
    int[] milestones;

    @Option(names = "--warmup", paramLabel = "EPOCHS", defaultValue = "0",
            description = "Linear learning-rate warm-up over this many epochs, per step (default: ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--no-augment", description = "Train without augmentation (the paper then uses --dropout 0.2).")
    boolean noAugment;

    @Option(names = "--image-size", paramLabel = "S", defaultValue = "32", description = "Side of the synthetic dataset's images (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "Seed of weights, sample order, augmentation and dropout (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    DeviceOptions device;

    @Mixin
    ParallelOptions parallel;

    @Option(names = "--sync-bn", negatable = true,
            description = "With --gpus: batch norm normalises with the statistics of the global batch, all-reduced across the GPUs in"
                    + " forward and backward (PyTorch's SyncBatchNorm); without it each GPU uses its own batch's, DDP's default"
                    + " (default: off; --resume keeps the run's setting unless given).")
    Boolean syncBn;

    @Option(names = "--output", paramLabel = "DIR", description = "Run folder (default: runs/<dataset>-<model>-<date>; with --resume, the checkpoint's folder).")
    Path output;

    @Option(names = "--pretrained", paramLabel = "FILE",
            description = "Start from these weights (fine-tuning): a checkpoint or weights file of ours, or a PyTorch/torchvision file"
                    + " (.pth, .pt, .pth.tar, .safetensors). A classifier for another number of classes is re-created, saying so.")
    Path pretrained;

    @Option(names = "--resume", paramLabel = "PATH", description = "Continue the run saved in this checkpoint (last.safetensors), with its settings.")
    Path resume;

    @Option(names = "--max-steps", paramLabel = "N", defaultValue = "0",
            description = "Stop after N optimizer steps in all, saving a checkpoint to resume from (default: 0, no limit).")
    long maxSteps;

    @Option(names = "--checkpoint-every", paramLabel = "MINUTES", defaultValue = "30",
            description = "Also save last.safetensors within an epoch when this many minutes have passed since the last save, so a crash"
                    + " or a kill loses at most about that much training (default: ${DEFAULT-VALUE}; 0: only at the end of each epoch).")
    double checkpointMinutes;

    @Option(names = "--log-interval", paramLabel = "SECONDS", defaultValue = "30",
            description = "Seconds between progress lines when output is not a terminal (default: ${DEFAULT-VALUE}).")
    double logInterval;

    @Spec
    CommandSpec spec;

    /** The --pretrained file's contents, read once. */
    private SafeTensors.Contents start;

    private static final String SYNC_BN_ALONE = "--sync-bn synchronises batch norm across data-parallel GPUs: it needs --gpus N (or a launcher)";

    /** Config keys and the options that set them, to refuse a changed setting on --resume. */
    private static final Map<String, List<String>> RUN_DEFINING = new LinkedHashMap<>();

    static {
        // The network: "model" (its name) and every "model.*" entry.
        RUN_DEFINING.put("model", List.of("--model", "--depth", "--growth", "--bottleneck", "--compression", "--dropout"));
        RUN_DEFINING.put("dataset", List.of("--dataset"));
        RUN_DEFINING.put("augment", List.of("--no-augment"));
        RUN_DEFINING.put("image_size", List.of("--image-size"));
        RUN_DEFINING.put("batch_size", List.of("--batch-size"));
        RUN_DEFINING.put("schedule", List.of("--schedule"));
        RUN_DEFINING.put("lr", List.of("--lr"));
        RUN_DEFINING.put("milestones", List.of("--milestones"));
        RUN_DEFINING.put("warmup_epochs", List.of("--warmup"));
        RUN_DEFINING.put("momentum", List.of("--momentum"));
        RUN_DEFINING.put("weight_decay", List.of("--wd"));
        RUN_DEFINING.put("nesterov", List.of("--nesterov"));
        RUN_DEFINING.put("seed", List.of("--seed"));
    }

    @Override
    public Integer call() throws IOException {
        device.validate();
        if (logInterval <= 0) throw new Main.UsageError("--log-interval must be > 0, got " + logInterval);
        if (maxSteps < 0) throw new Main.UsageError("--max-steps must be >= 0, got " + maxSteps);
        if (!(checkpointMinutes >= 0)) throw new Main.UsageError("--checkpoint-every must be >= 0 minutes, got " + checkpointMinutes);
        // Every usage error before any file is opened or any dataset looked for: the options resolved against the
        // named dataset, or CIFAR-10's recipe when it is still to be found (its 300 epochs are the most any recipe has,
        // so nothing is refused here that the real recipe would accept).
        DatasetKind named = data.namedKind();
        resolve(named != null ? named : DatasetKind.CIFAR10, 10);
        LaunchEnvironment env = parallel.environment();
        List<Integer> gpus = parallel.localGpus(env, device.device);
        if (Boolean.TRUE.equals(syncBn) && gpus == null) throw new Main.UsageError(SYNC_BN_ALONE);
        if (pretrained != null && resume != null) {
            throw new Main.UsageError("--pretrained starts a new run from weights, --resume continues a run: give one of them");
        }
        Checkpoint ck = resume != null ? Checkpoint.load(resume) : null;
        if (ck != null) data.defaultTo(ck.config().dataset(), given("--dataset"));
        if (pretrained != null) {
            if (!Files.isRegularFile(pretrained)) throw new IOException(pretrained + ": weights file not found");
            start = Weights.readStateDict(pretrained);
        }
        DatasetKind kind = data.kind();
        TrainConfig fresh = resolve(kind, kind.isImageNet() && data.data != null ? imagenetClasses() : kind.classes());
        TrainConfig cfg = fresh;
        if (ck != null) {
            checkUnchanged(fresh, ck.config());
            TrainConfig old = ck.config();
            Path out = output != null ? output : resume.toAbsolutePath().getParent();
            LrSchedule schedule = given("--epochs") ? extendedSchedule(old, ck.state().epoch(), fresh.epochs()) : old.schedule();
            cfg = new TrainConfig(old.modelName(), old.model(), given("--memory") ? device.memoryMode() : old.memory(), old.dataset(),
                    data.data != null ? data.data : old.dataDir(), data.download, old.augment(), old.imageSize(), old.batchSize(),
                    schedule, old.momentum(), old.weightDecay(), old.nesterov(), old.seed(), device.device,
                    device.workerCount(old.dataset()), data.decoding(), out, maxSteps, old.pretrained(),
                    given("--precision") || given("--tf32") ? device.precision() : old.precision(),
                    syncBn != null ? syncBn : old.syncBatchNorm());
        }
        PrintStream out = System.out;
        AtomicBoolean stop = new AtomicBoolean();
        int[] signal = {0};
        if (cfg.syncBatchNorm() && gpus == null) {
            throw new Main.UsageError(SYNC_BN_ALONE + "; the checkpoint's run used it: give --no-sync-bn to go on with per-device statistics");
        }
        TrainConfig run = cfg;
        Interrupts.install(stop, signal, System.err);
        try {
            Trainer.Result r;
            if (gpus == null) {
                try (Backend backend = device.open(cfg.precision(), System.err)) {
                    r = trainer(run, backend, out, stop).run(ck);
                }
            } else {
                // -j counts the process's loader threads, shared out among its GPUs
                TrainConfig perGpu = run.withWorkers(Math.max(1, run.workers() / gpus.size()));
                r = parallel.train(env, gpus, cfg.precision(), device.cudaGraphs(), ck, out, (backend, o) -> trainer(perGpu, backend, o, stop));
            }
            switch (r.outcome()) {
                case COMPLETED, MAX_STEPS -> {
                    out.println(r.message());
                    return 0;
                }
                case INTERRUPTED -> {
                    System.err.println(r.message());
                    return signal[0] == 0 ? Main.EXIT_INTERRUPTED : 128 + signal[0];
                }
                default -> {
                    System.err.println("error: " + r.message());
                    return Main.EXIT_DIVERGED;
                }
            }
        } finally {
            Interrupts.uninstall();
        }
    }

    /** A trainer on {@code backend} writing its progress to {@code out}, starting from --pretrained's weights when given. */
    private Trainer trainer(TrainConfig cfg, Backend backend, PrintStream out, AtomicBoolean stop) {
        Trainer trainer = new Trainer(cfg, backend, out, stop, org.densenet.train.Progress.isTerminal(), logInterval, checkpointMinutes * 60);
        if (start != null) {
            Map<String, HostTensor> weights = new LinkedHashMap<>(Checkpoint.weightsOnly(start.tensors()));
            trainer.startingFrom(weights, Pretrained.adapt(pretrained, weights, cfg.model(), out));
        }
        return trainer;
    }

    /** The configuration the options describe for {@code kind} with {@code classes} classes, recipe defaults filled in. */
    private TrainConfig resolve(DatasetKind kind, int classes) throws IOException {
        Recipe recipe = Recipe.of(kind);
        int channels = kind == DatasetKind.FASHION_MNIST ? 1 : 3;
        ModelOptions.Resolved m = start != null && !model.given() && ModelOptions.describes(start.metadata())
                ? Pretrained.network(pretrained, start.metadata(), classes, channels)
                : model.resolve(DataOptions.defaultModel(kind), classes, channels);
        int e = epochs != null ? epochs : recipe.epochs();
        if (e < 1) throw new Main.UsageError("--epochs must be >= 1, got " + e);
        int b = batch != null ? batch : recipe.batchSize();
        if (b < 1) throw new Main.UsageError("--batch-size must be >= 1, got " + b);
        double rate = lr != null ? lr : recipe.lr();
        LrSchedule s;
        try {
            LrSchedule.Kind k = LrSchedule.Kind.parse(schedule);
            if (k == LrSchedule.Kind.COSINE) {
                if (milestones != null) throw new Main.UsageError("--milestones applies to --schedule step, not cosine");
                s = LrSchedule.cosine(rate, e, warmup);
            } else if (milestones != null) {
                s = new LrSchedule(LrSchedule.Kind.STEP, rate, e, milestones, 0.1, warmup);
            } else {
                s = LrSchedule.step(rate, e, recipe.milestoneFractions(), warmup);
            }
            Path out = output != null ? output : Path.of("runs", kind.cliName() + "-" + m.name() + "-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            return new TrainConfig(m.name(), m.config(), device.memoryMode(), kind, data.data, data.download, !noAugment, imageSize, b, s,
                    momentum != null ? momentum : recipe.momentum(), weightDecay != null ? weightDecay : recipe.weightDecay(),
                    nesterov, seed, device.device, device.workerCount(kind), data.decoding(), out, maxSteps,
                    pretrained == null ? "" : pretrained.toAbsolutePath().normalize().toString(), device.precision(),
                    syncBn != null && syncBn);
        } catch (IllegalArgumentException ex) {
            throw new Main.UsageError(ex.getMessage());
        }
    }

    private int imagenetClasses() {
        try {
            return ImageFolder.classCount(data.data, "train");
        } catch (RuntimeException ex) {
            return DatasetKind.IMAGENET.classes();  // the trainer reports the missing folder with its full message
        }
    }

    private boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    /**
     * Refuses options that would change a resumed run, one entry per option. --epochs is not among them:
     * it extends (or shortens) the run, see {@link #extendedSchedule}.
     */
    private void checkUnchanged(TrainConfig fresh, TrainConfig saved) {
        Map<String, String> a = fresh.toMap(), b = saved.toMap();
        Map<String, String> changed = new LinkedHashMap<>();
        a.keySet().forEach(key -> {
            String group = key.startsWith("model.") ? "model" : key;
            List<String> options = RUN_DEFINING.get(group);
            if (options == null || a.get(key).equals(b.get(key))) return;
            if (group.equals("milestones") && given("--epochs")) return;
            String opts = String.join("/", options.stream().filter(this::given).toList());
            if (opts.isEmpty() || changed.containsKey(opts)) return;
            // The network differs in many entries; its name says it in one.
            String k = group.equals("model") && !a.get("model").equals(b.get("model")) ? "model" : key;
            changed.put(opts, opts + " (" + k + " " + shown(b.get(k)) + " in the checkpoint, " + shown(a.get(k)) + " given)");
        });
        if (!changed.isEmpty()) {
            throw new Main.UsageError("--resume continues a run with its own settings; "
                    + (changed.size() == 1 ? "this option differs" : "these options differ") + " from it: "
                    + String.join("; ", changed.values()) + ". Drop " + (changed.size() == 1 ? "it" : "them")
                    + ", or start a new run without --resume (--epochs may change: it extends the run)");
        }
    }

    private static String shown(String value) {
        return value == null || value.isEmpty() ? "none" : value;
    }

    /**
     * The saved schedule stretched to {@code epochs}, as PyTorch's ImageNet example and timm continue a
     * resumed run with a larger --epochs: the step schedule's milestones are the ones given, else the recipe's
     * fractions of the new length when the run used them, else the run's own; cosine spans the new length.
     * The epochs already trained followed the old schedule, so a note says the result differs from a straight run.
     */
    private LrSchedule extendedSchedule(TrainConfig saved, int epochsDone, int epochs) {
        LrSchedule old = saved.schedule();
        if (epochs == old.epochs() && milestones == null) return old;
        if (epochs <= epochsDone) {
            throw new Main.UsageError("the checkpoint has already trained " + epochsDone + " of its " + old.epochs()
                    + " epochs; give --epochs above " + epochsDone + " to train further");
        }
        LrSchedule s;
        try {
            if (old.kind() == LrSchedule.Kind.COSINE) {
                s = LrSchedule.cosine(old.baseLr(), epochs, old.warmupEpochs());
            } else if (milestones != null) {
                s = new LrSchedule(LrSchedule.Kind.STEP, old.baseLr(), epochs, milestones, old.gamma(), old.warmupEpochs());
            } else {
                double[] fractions = Recipe.of(saved.dataset()).milestoneFractions();
                boolean recipe = java.util.Arrays.equals(old.milestones(),
                        LrSchedule.step(old.baseLr(), old.epochs(), fractions, old.warmupEpochs()).milestones());
                s = recipe ? LrSchedule.step(old.baseLr(), epochs, fractions, old.warmupEpochs())
                        : new LrSchedule(LrSchedule.Kind.STEP, old.baseLr(), epochs, old.milestones(), old.gamma(), old.warmupEpochs());
            }
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
        System.out.println("note: --epochs " + epochs + " changes this " + old.epochs() + "-epoch run to " + epochs + " epochs; the learning"
                + " rate now follows " + s + "; the " + epochsDone + " epoch" + (epochsDone == 1 ? "" : "s")
                + " already trained followed the old schedule, so the result will differ from a straight " + epochs + "-epoch run");
        return s;
    }
}
