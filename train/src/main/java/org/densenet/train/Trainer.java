package org.densenet.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.LossScaling;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.Precision;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.io.HostTensor;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryPlanner;
import org.densenet.model.Parameters;
import org.densenet.train.data.Batch;
import org.densenet.train.data.BatchLoader;
import org.densenet.train.data.ClassNames;
import org.densenet.train.data.Dataset;
import org.densenet.train.data.Datasets;
import org.densenet.train.data.ImageFolder;

/**
 * The training loop: SGD over the training split, evaluation after every epoch, checkpoints
 * (last and best), the run folder's logs. Everything random is a counter-based function of the
 * seed, so a run that is stopped and resumed from its checkpoint ends with the same weights, bit
 * for bit on the CPU, as one that ran straight through.
 */
public final class Trainer {
    /** How a run ended. */
    public enum Outcome { COMPLETED, MAX_STEPS, INTERRUPTED, DIVERGED }

    public record Result(Outcome outcome, String message, EpochRecord lastEpoch) {
    }

    private static final int STEP_SCALAR_EVERY = 10;
    /**
     * In fp16, steps in a row whose loss is not finite before the run ends as diverged. One such step
     * is an activation past float16's range on one batch, and the loss scaler skips it (its gradients
     * are not finite either), as torch.amp.GradScaler does; the weights do not change while steps are
     * skipped, so this many in a row means every batch overflows.
     */
    static final int FP16_NONFINITE_LIMIT = 20;

    private final TrainConfig cfg;
    private final Backend backend;
    private final PrintStream out;
    private final AtomicBoolean stop;
    private final boolean terminal;
    private final double logIntervalSeconds;
    private final long checkpointNanos;
    private LossScaling lossScaling = LossScaling.DEFAULT;
    private Map<String, HostTensor> pretrained;
    private Set<String> keptFresh = Set.of();
    private List<String> classNames;
    private DataParallel par = DataParallel.SINGLE;
    /** fp16: steps in a row with a non-finite loss so far, and whether the first one was reported. */
    private int nonFiniteInARow;
    private boolean nonFiniteSaid;

    /**
     * @param stop              set (e.g. by Ctrl-C) to end the run after the current step, with a checkpoint
     * @param terminal          draw progress bars (else plain lines every {@code logIntervalSeconds})
     * @param checkpointSeconds also save last.safetensors within an epoch once this long has passed since the last save,
     *                          so a crash or a kill loses at most about this much training; 0: only at the end of epochs
     */
    public Trainer(TrainConfig cfg, Backend backend, PrintStream out, AtomicBoolean stop, boolean terminal, double logIntervalSeconds,
                   double checkpointSeconds) {
        if (!(checkpointSeconds >= 0)) throw new IllegalArgumentException("checkpoint interval must be >= 0 seconds, got " + checkpointSeconds);
        this.cfg = cfg;
        this.backend = backend;
        this.out = out;
        this.stop = stop;
        this.terminal = terminal;
        this.logIntervalSeconds = logIntervalSeconds;
        this.checkpointNanos = (long) Math.min(Long.MAX_VALUE, checkpointSeconds * 1e9);
    }

    /**
     * A fresh run starts from these weights (fine-tuning) instead of a random initialisation. Every
     * tensor of the network must be among them but those named in {@code keptFresh} (a re-created
     * classifier) and the num_batches_tracked counters, which start at 0 as in PyTorch's load_state_dict.
     */
    public Trainer startingFrom(Map<String, HostTensor> weights, Set<String> keptFresh) {
        this.pretrained = weights;
        this.keptFresh = Set.copyOf(keptFresh);
        return this;
    }

    /**
     * Trains as one rank of a data-parallel run: its shard of every epoch, gradients averaged over the
     * ranks, rank 0's starting state, and only rank 0 writing the run folder.
     */
    public Trainer dataParallel(DataParallel par) {
        this.par = par;
        return this;
    }

    /** An FP16 run scales its loss by {@code rule} instead of GradScaler's defaults (for tests: growth within a few steps). */
    Trainer lossScaling(LossScaling rule) {
        this.lossScaling = rule;
        return this;
    }

    /** Trains from scratch, or from {@code resume} when it is not null. */
    public Result run(Checkpoint resume) throws IOException {
        TrainState st = resume != null ? resume.state() : TrainState.START;
        Dataset trainSet = Datasets.open(cfg.dataset(), cfg.dataDir(), true, cfg.download(), cfg.imageSize(), cfg.seed(), cfg.decoding());
        Dataset testSet = Datasets.open(cfg.dataset(), cfg.dataDir(), false, false, cfg.imageSize(), cfg.seed() + 1, cfg.decoding());
        Datasets.checkSplits(trainSet, testSet);
        if (trainSet.numClasses() > cfg.model().numClasses()) {
            throw new IllegalArgumentException(trainSet.name() + " has " + trainSet.numClasses() + " classes, the model "
                    + cfg.model().numClasses());
        }
        checkMemory();
        par.synchronizeBatchNorm(cfg.syncBatchNorm());
        classNames = trainSet.classNames() != null ? trainSet.classNames() : ClassNames.of(cfg.dataset());
        try (BatchLoader trainLoader = new BatchLoader(trainSet, Datasets.trainTransform(cfg.dataset(), trainSet, cfg.augment()),
                     cfg.batchSize(), cfg.workers());
             BatchLoader testLoader = new BatchLoader(testSet, Datasets.evalTransform(cfg.dataset(), testSet), cfg.batchSize(), cfg.workers());
             RunFolder run = par.rank() == 0 ? new RunFolder(cfg.output(), cfg.toMap(), st.epoch()) : RunFolder.readOnly(cfg.output());
             DenseNet net = new DenseNet(cfg.model(), backend, cfg.memory(), cfg.seed());
             Tensor momentum = backend.allocate(DType.F32, (int) net.parameters().values().numel());
             Tensor rate = backend.allocate(DType.F32, 1);
             LossScaler scaler = LossScaler.forPrecision(backend, cfg.precision(), lossScaling);
             CapturedSteps graphs = new CapturedSteps(backend, out).across(par);
             Evaluator.DeviceBatches dev = new Evaluator.DeviceBatches(backend, trainLoader, cfg.model().numClasses())) {
            Parameters p = net.parameters();
            if (resume != null) {
                p.loadStateDict(resume.weights());
                backend.upload(resume.momentum(), momentum);
                net.setTrainingStep(st.globalStep());
                if (scaler != null && resume.scaler() != null) scaler.restore(resume.scaler());
            } else {
                if (pretrained != null) loadPretrained(p);
                backend.fill(momentum, 0);
            }
            // Whatever each rank loaded or drew, all start from rank 0's state, so that identical updates keep them identical.
            par.broadcast(p.values(), "broadcast of rank 0's parameters");
            par.broadcast(p.runningStats(), "broadcast of rank 0's running statistics");
            par.broadcast(momentum, "broadcast of rank 0's momentum");
            if (scaler != null) par.broadcast(scaler.state(), "broadcast of rank 0's loss scaler");
            out.printf(Locale.ROOT, "%s %s: %,d parameters, %s memory, on %s%s, precision %s%n", cfg.modelName(), cfg.model(),
                    cfg.model().parameterCount(), cfg.memory().label(), backend.name(),
                    "allowed".equals(backend.versions().get("tf32")) ? " (TF32 allowed)" : "", cfg.precision().label());
            String batch = par.size() == 1 ? "batch " + cfg.batchSize()
                    : String.format(Locale.ROOT, "batch %d per GPU, %d global (%d GPUs)", cfg.batchSize(), cfg.batchSize() * par.size(), par.size());
            out.printf(Locale.ROOT, "data: %s (%,d images), %s (%,d images); %s, %s; output %s%n", trainSet.name(), trainSet.size(),
                    testSet.name(), testSet.size(), batch, cfg.schedule(), run.dir());
            if (par.size() > 1 || cfg.syncBatchNorm()) {
                out.println(cfg.syncBatchNorm() ? "batch norm: statistics over the global batch of " + par.size() + (par.size() == 1 ? " GPU" : " GPUs") + " (--sync-bn)"
                        : "batch norm: statistics per GPU, over its batch of " + cfg.batchSize() + " (--sync-bn makes them global)");
            }
            if (trainSet instanceof ImageFolder f) out.println(f.decoderNote());
            if (resume != null) {
                st = continuedOn(st, trainSet.size(), out);
                out.printf(Locale.ROOT, "resuming at epoch %d, batch %d (step %d)%n", st.epoch() + 1, st.batch(), st.globalStep());
            }
            return loop(st, net, new StepState(momentum, rate, scaler, graphs), trainLoader, testLoader, run, dev);
        }
    }

    private void loadPretrained(Parameters p) {
        Map<String, HostTensor> merged = p.stateDict();
        List<String> missing = new ArrayList<>();
        for (String k : merged.keySet()) {
            if (!pretrained.containsKey(k) && !keptFresh.contains(k) && !k.endsWith(".num_batches_tracked")) missing.add(k);
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(cfg.pretrained() + " does not fit " + cfg.modelName() + ": missing keys (" + missing.size()
                    + "): " + String.join(", ", missing.subList(0, Math.min(8, missing.size()))) + (missing.size() > 8 ? ", ..." : ""));
        }
        merged.putAll(pretrained);
        try {
            p.loadStateDict(merged);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(cfg.pretrained() + " does not fit " + cfg.modelName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Fails before the first allocation when a training step cannot fit on the device, naming what
     * would. Per image, besides the model's plan: the device batch (images, label, logits gradient),
     * twice, since an epoch's last, smaller batch gets buffers of its own, and the 8-bit pixels the
     * images are normalised from.
     */
    private void checkMemory() {
        DenseNetConfig m = cfg.model();
        long pixels = (long) m.inChannels() * cfg.imageSize() * cfg.imageSize();
        long perImage = 2L * DType.F32.bytes() * (pixels + 1 + m.numClasses()) + pixels;
        MemoryPlanner.requireFits(cfg.modelName(), m, cfg.memory(), backend.activationDType(), cfg.batchSize(), cfg.imageSize(), cfg.imageSize(),
                true, perImage, backend.availableMemoryBytes(), backend.memoryLimitNote());
    }

    /**
     * What a step keeps on the device besides the model: the momentum buffer, the learning rate
     * (written before each step, so that a captured step follows the schedule), FP16's loss scaler
     * (null in other precisions), and the captures.
     */
    private record StepState(Tensor momentum, Tensor rate, LossScaler scaler, CapturedSteps graphs) {
        /** The scaler's state for a checkpoint, null without one. */
        LossScaler.Saved savedScaler() {
            return scaler == null ? null : scaler.read();
        }
    }

    private Result loop(TrainState st, DenseNet net, StepState state, BatchLoader trainLoader, BatchLoader testLoader,
                        RunFolder run, Evaluator.DeviceBatches dev) throws IOException {
        Parameters p = net.parameters();
        Tensor momentum = state.momentum();
        int steps = stepsPerEpoch(trainLoader.dataset().size());
        int epochs = cfg.epochs();
        long step = st.globalStep();
        double best = st.bestTop1();
        int bestEpoch = st.bestEpoch();
        // A fresh run may write into a folder that holds an older run's checkpoint: that one is not "good".
        String lastGood = st.globalStep() > 0 && Files.isRegularFile(run.last()) ? run.last().toString() : null;
        EpochRecord lastRow = null;
        int skippedBefore = 0;
        long lastSave = System.nanoTime();
        for (int epoch = st.epoch(); epoch < epochs; epoch++) {
            boolean continuing = epoch == st.epoch();
            int first = continuing ? st.batch() : 0;
            Tally tally = continuing ? new Tally(st.trainLossSum(), st.trainTop1(), st.trainSeen()) : new Tally(0, 0, 0);
            double trainSeconds = continuing ? st.trainSeconds() : 0;
            long waitNanos = continuing ? Math.round(st.dataWaitSeconds() * 1e9) : 0;
            double lr = cfg.schedule().lr(epoch, Math.min(first, steps - 1), steps);
            Progress bar = new Progress(out, terminal, String.format(Locale.ROOT, "epoch %d/%d", epoch + 1, epochs), steps, logIntervalSeconds);
            long t0 = System.nanoTime();
            try (BatchLoader.Epoch batches = trainLoader.epoch(
                    par.shard(BatchLoader.shuffled(trainLoader.dataset().size(), cfg.seed(), epoch)), cfg.seed(), epoch, first)) {
                int done = first;
                Queued queued = null;
                while (batches.hasNext()) {
                    long w0 = System.nanoTime();
                    Batch b = batches.next();
                    waitNanos += System.nanoTime() - w0;
                    lr = cfg.schedule().lr(epoch, b.index(), steps);
                    Evaluator.DeviceBatches.Slot s = dev.upload(b);
                    backend.fill(state.rate(), lr);
                    PendingLoss loss = trainStep(net, state, s, step, new SgdParams(lr, cfg.momentum(), cfg.weightDecay(), cfg.nesterov()), par);
                    step++;
                    done++;
                    // The previous step's loss is read only now, with this whole step queued behind it: on a GPU
                    // the host never waits for a step it has not yet queued the next one after.
                    Result diverged = settle(queued, tally, run, bar, epoch, lastGood, lastRow);
                    if (diverged != null) return diverged;
                    queued = new Queued(loss, b.index(), step, lr, done, done - first);
                    boolean maxed = cfg.maxSteps() > 0 && step >= cfg.maxSteps(), stopping = par.anyStop(stop.get(), step);
                    boolean due = checkpointNanos > 0 && System.nanoTime() - lastSave >= checkpointNanos && batches.hasNext();
                    if (stopping || maxed || due) {
                        diverged = settle(queued, tally, run, bar, epoch, lastGood, lastRow);
                        if (diverged != null) return diverged;
                        queued = null;
                        double secs = trainSeconds + (System.nanoTime() - t0) / 1e9;
                        if (run.writes()) {
                            new Checkpoint(cfg, new TrainState(epoch, b.index() + 1, step, best, bestEpoch, tally.lossSum, tally.top1, tally.seen,
                                    secs, waitNanos / 1e9, par.size()), p.stateDict(), download(momentum), classNames, state.savedScaler())
                                    .save(run.last());
                        }
                        lastGood = run.last().toString();
                        lastSave = System.nanoTime();
                    }
                    if (stopping || maxed) {
                        bar.finish();
                        String how = maxed ? "stopped after " + step + " steps (--max-steps)" : "interrupted";
                        return new Result(maxed ? Outcome.MAX_STEPS : Outcome.INTERRUPTED, String.format(Locale.ROOT,
                                "%s at epoch %d, batch %d; saved %s; continue with --resume %s", how, epoch + 1, b.index() + 1,
                                run.last(), run.last()), lastRow);
                    }
                }
                Result diverged = settle(queued, tally, run, bar, epoch, lastGood, lastRow);
                if (diverged != null) return diverged;
            }
            bar.finish();
            trainSeconds += (System.nanoTime() - t0) / 1e9;
            long t1 = System.nanoTime();
            Evaluator.Metrics m = evaluate(net, testLoader);
            double evalSeconds = (System.nanoTime() - t1) / 1e9;
            long seen = tally.seen;
            double trainLoss = seen > 0 ? tally.lossSum / seen : Double.NaN, trainTop1 = seen > 0 ? 100.0 * tally.top1 / seen : Double.NaN;
            lastRow = new EpochRecord(epoch + 1, lr, trainLoss, trainTop1, m.loss(), m.top1(), m.top5(),
                    (double) seen * par.size() / Math.max(trainSeconds, 1e-9), trainSeconds + evalSeconds, waitNanos / 1e9);
            boolean improved = m.top1() > best;
            if (improved) {
                best = m.top1();
                bestEpoch = epoch + 1;
            }
            run.add(lastRow, cfg.modelName() + " on " + cfg.dataset().cliName());
            LossScaler.Saved scaled = state.savedScaler();
            if (run.writes()) {
                Checkpoint ck = new Checkpoint(cfg, new TrainState(epoch + 1, 0, step, best, bestEpoch, 0, 0, 0, 0, 0, par.size()),
                        p.stateDict(), download(momentum), classNames, scaled);
                ck.save(run.last());
                if (improved) ck.save(run.best());
            }
            lastGood = run.last().toString();
            lastSave = System.nanoTime();
            out.printf(Locale.ROOT, "epoch %d/%d  lr %.4g  train loss %.4f top-1 %.2f%%  val loss %.4f top-1 %.2f%% top-5 %.2f%%  %.1f img/s  %s%s%n",
                    epoch + 1, epochs, lr, trainLoss, trainTop1, m.loss(), m.top1(), m.top5(), lastRow.imagesPerSecond(),
                    Progress.duration(lastRow.seconds()), improved ? "  (best)" : "");
            if (scaled != null) out.println("fp16 " + scaled.describe());
            String waited = inputBoundNote(waitNanos / 1e9, trainSeconds, cfg.workers(), Runtime.getRuntime().availableProcessors());
            if (waited != null) out.println(waited);
            int skipped = trainLoader.skippedImages() + testLoader.skippedImages();
            if (skipped > skippedBefore) {
                out.printf(Locale.ROOT, "skipped %d undecodable image%s this epoch (first: %s)%n", skipped - skippedBefore,
                        skipped - skippedBefore == 1 ? "" : "s", firstSkip(trainLoader, testLoader));
                skippedBefore = skipped;
            }
        }
        String msg = String.format(Locale.ROOT, "done: best val top-1 %.2f%% at epoch %d; weights in %s and %s",
                best, bestEpoch, run.last(), run.best());
        return new Result(Outcome.COMPLETED, msg, lastRow);
    }

    /**
     * Forward, loss, backward and update on a batch already on the device, captured and replayed
     * where the backend can ({@link CapturedSteps}, keyed by the batch's device buffers). The rate
     * comes from {@code state.rate()}, which holds sgd.lr() by now, and dropout's seeds from the
     * model's seed tensor, written before the call. The model's host-side counters
     * (its step, which seeds dropout, and num_batches_tracked) are set for the step rather than
     * counted on, since a replay runs none of the model's code and a failed capture runs it twice.
     */
    private static PendingLoss trainStep(DenseNet net, StepState state, Evaluator.DeviceBatches.Slot s, long step, SgdParams sgd,
                                         DataParallel par) {
        Backend backend = net.backend();
        Parameters p = net.parameters();
        net.setTrainingStep(step);   // with dropout, writes the step's mask seeds where a replay reads them
        PendingLoss loss = state.graphs().run(s.images(), "the training step", "a batch of " + s.images().dim(0), () -> {
            net.setTrainingStep(step);
            Tensor logits = net.forward(s.images(), true);
            PendingLoss l = backend.softmaxCrossEntropyAsync(logits, s.labels(), s.dLogits());
            LossScaler scaler = state.scaler();
            if (scaler != null) scaler.scaleLossGradient(s.dLogits());
            net.backward(s.dLogits(), from -> par.gradientsReady(p, from, step));
            par.averageGradients(p, step);
            // after the average, every rank checks the same gradients: all skip, or none, and their scales stay equal
            if (scaler != null) scaler.checkGradients(p.grads());
            backend.sgdStep(p.values(), p.grads(), state.momentum(), sgd, state.rate(), scaler == null ? null : scaler.state());
            return l;
        });
        net.completeTrainingStep(step);
        return loss;
    }

    /** Optimizer steps per epoch: every rank makes as many, over its shard of the training set. */
    private int stepsPerEpoch(int trainImages) {
        return (par.shard(BatchLoader.identity(trainImages)).length + cfg.batchSize() - 1) / cfg.batchSize();
    }

    /**
     * A checkpoint's state as this run continues it. With another number of ranks, an epoch's steps
     * group its samples differently: the run goes on from the step that starts at about the same
     * sample, and says so.
     */
    private TrainState continuedOn(TrainState st, int trainImages, PrintStream out) {
        if (st.worldSize() == par.size()) return st;
        int batch = (int) Math.min(stepsPerEpoch(trainImages), (long) st.batch() * st.worldSize() / par.size());
        out.printf(Locale.ROOT, "note: the checkpoint was trained on %d GPU%s, this run has %d: the global batch becomes %d and the order in"
                        + " which samples are grouped into batches changes, so the run will not repeat one that kept %d; epoch %d goes on at"
                        + " batch %d of %d%n", st.worldSize(), st.worldSize() == 1 ? "" : "s", par.size(), cfg.batchSize() * par.size(),
                st.worldSize(), st.epoch() + 1, batch, stepsPerEpoch(trainImages));
        return new TrainState(st.epoch(), batch, st.globalStep(), st.bestTop1(), st.bestEpoch(), st.trainLossSum(), st.trainTop1(),
                st.trainSeen(), st.trainSeconds(), st.dataWaitSeconds(), par.size());
    }

    /**
     * The test set's metrics; with several ranks, each evaluates its shard with rank 0's running
     * statistics (as DDP broadcasts them) and the sums are added up, so every rank reports the same.
     */
    private Evaluator.Metrics evaluate(DenseNet net, BatchLoader testLoader) {
        if (par.size() == 1) {
            return Evaluator.evaluate(net, testLoader, new Progress(out, terminal, "  eval", testLoader.batchesPerEpoch(), logIntervalSeconds), out);
        }
        par.broadcast(net.parameters().runningStats(), "broadcast of rank 0's running statistics");
        int[] shard = par.evalShard(testLoader.dataset().size());
        int batches = (shard.length + testLoader.batchSize() - 1) / testLoader.batchSize();
        Evaluator.Metrics mine = Evaluator.evaluate(net, testLoader, shard, new Progress(out, terminal, "  eval", batches, logIntervalSeconds), out);
        return Evaluator.Metrics.ofSums(par.sum(mine.sums(), "sum of the evaluation's loss and hits"));
    }

    /** Running sums of an epoch's training loss and top-1 hits; {@code seenHere} counts only this process's images (for the progress bar's rate). */
    private static final class Tally {
        double lossSum;
        long top1;
        long seen;
        long seenHere;

        Tally(double lossSum, long top1, long seen) {
            this.lossSum = lossSum;
            this.top1 = top1;
            this.seen = seen;
        }
    }

    /** A step whose loss has not been read yet: its batch, its number, its learning rate, and the progress bar's counts after it. */
    private record Queued(PendingLoss loss, int batch, long step, double lr, int done, int doneHere) {
    }

    /**
     * Reads a queued step's loss into the epoch's sums, the step scalars and the progress bar; the
     * result that ends the run when the loss is not finite, else null (also for no step).
     */
    private Result settle(Queued q, Tally t, RunFolder run, Progress bar, int epoch, String lastGood, EpochRecord lastRow) throws IOException {
        if (q == null) return null;
        LossResult r = q.loss().get();
        boolean fp16 = cfg.precision() == Precision.FP16;
        if (!Double.isFinite(r.loss()) && fp16 && ++nonFiniteInARow < FP16_NONFINITE_LIMIT) {
            // its gradients are not finite either, so the loss scaler has skipped the step: the weights are as before
            if (!nonFiniteSaid) {
                bar.finish();
                out.printf(Locale.ROOT, "fp16: the loss of step %d (epoch %d, batch %d) is %s, an activation past float16's largest"
                                + " value (65504): the loss scaler skipped the step; %d such steps in a row end the run (bf16 keeps"
                                + " float32's range)%n", q.step(), epoch + 1, q.batch() + 1, r.loss(), FP16_NONFINITE_LIMIT);
                nonFiniteSaid = true;
            }
            bar.update(q.done(), q.doneHere(), t.seenHere, t.seen == 0 ? Double.NaN : t.lossSum / t.seen,
                    t.seen == 0 ? Double.NaN : 100.0 * t.top1 / t.seen);
            return null;
        }
        if (!Double.isFinite(r.loss())) {
            bar.finish();
            String msg = String.format(Locale.ROOT, "training diverged: the loss is %s at epoch %d, batch %d (step %d). %s",
                    r.loss(), epoch + 1, q.batch() + 1, q.step(), lastGood != null
                            ? "The last good checkpoint is " + lastGood + " (try a lower --lr, resuming from it with a new run)."
                            : "No checkpoint was saved yet (try a lower --lr).");
            // the scaler skips steps whose gradients overflow, but a forward pass that overflows float16 reaches the loss
            if (fp16) {
                msg += String.format(Locale.ROOT, " In fp16 that is %d steps in a row, each skipped by the loss scaler: an activation"
                        + " past float16's largest value, 65504, which loss scaling does not prevent; bf16 keeps float32's range.",
                        FP16_NONFINITE_LIMIT);
            }
            return new Result(Outcome.DIVERGED, msg, lastRow);
        }
        nonFiniteInARow = 0;
        t.lossSum += r.loss() * r.count();
        t.top1 += r.top1Correct();
        t.seen += r.count();
        t.seenHere += r.count();
        if (q.step() % STEP_SCALAR_EVERY == 0) {
            run.stepScalar("step/loss", q.step(), r.loss());
            run.stepScalar("step/lr", q.step(), q.lr());
        }
        bar.update(q.done(), q.doneHere(), t.seenHere, t.lossSum / t.seen, 100.0 * t.top1 / t.seen);
        return null;
    }

    /** Share of an epoch's training time above which the epoch line is followed by a note that the loader held training back. */
    static final double INPUT_BOUND_SHARE = 0.05;

    /**
     * The note printed after an epoch whose training waited for batches more than {@link #INPUT_BOUND_SHARE}
     * of its time, with what would help; null when it did not.
     */
    static String inputBoundNote(double waitSeconds, double trainSeconds, int workers, int cores) {
        if (!(trainSeconds > 0) || waitSeconds <= INPUT_BOUND_SHARE * trainSeconds) return null;
        String help = workers < cores
                ? String.format(Locale.ROOT, "more loader threads would help (-j %d now, %d cores)", workers, cores)
                : String.format(Locale.ROOT, "the loader already has a thread per core (-j %d), so only a faster machine or storage would help", workers);
        return String.format(Locale.ROOT, "input-bound: training waited %.0f%% of the epoch (%s) for the loader's batches; %s;"
                + " 'densenet bench data' measures the loader", 100 * waitSeconds / trainSeconds, Progress.duration(waitSeconds), help);
    }

    private float[] download(Tensor t) {
        float[] h = new float[(int) t.numel()];
        backend.download(t, h);
        return h;
    }

    private static String firstSkip(BatchLoader a, BatchLoader b) {
        return a.firstSkipMessage() != null ? a.firstSkipMessage() : b.firstSkipMessage();
    }
}
