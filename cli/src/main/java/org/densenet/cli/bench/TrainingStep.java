package org.densenet.cli.bench;

import java.util.SplittableRandom;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.LossResult;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.profile.OpScope;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.train.CapturedSteps;
import org.densenet.train.DataParallel;
import org.densenet.train.LossScaler;

/**
 * One DenseNet training step as the trainer runs it (forward, softmax cross-entropy, backward,
 * Nesterov SGD with the CIFAR recipe's lr 0.1, momentum 0.9, weight decay 1e-4, as the PyTorch
 * peer script does), on batches already on the device: no data loading is timed. Several batches
 * of fresh standard-normal images and uniform labels are made up front and used in turn, so
 * repeats do not re-read one input from cache. Ops are issued under the scopes fwd, loss, bwd, sgd.
 * Where the backend captures graphs, each batch's step is captured after its first run and
 * replayed from then on, as the trainer does ({@link CapturedSteps}). In FP16 it scales its loss as
 * the trainer does ({@link LossScaler}): the scaling is timed under "loss", the gradient check under "sgd".
 */
public final class TrainingStep implements AutoCloseable {
    public static final SgdParams SGD = new SgdParams(0.1, 0.9, 1e-4, true);

    private final Backend backend;
    private final DenseNet net;
    private final Tensor[] images;
    private final Tensor[] labels;
    private final Tensor dLogits;
    private final Tensor momentum;
    /** The learning rate, written before each step as the trainer writes its schedule's. */
    private final Tensor rate;
    private final CapturedSteps graphs;
    /** FP16's loss scaler, null in other precisions. */
    private final LossScaler scaler;
    private int next;
    private PendingLoss last;
    private DataParallel par = DataParallel.SINGLE;
    private long steps;

    /**
     * @param batches how many input batches to rotate through (>= 1)
     */
    public TrainingStep(Backend backend, DenseNetConfig config, MemoryMode mode, int batch, int imageSize, int batches, long seed) {
        if (batch < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batch);
        if (imageSize < 1) throw new IllegalArgumentException("image size must be >= 1, got " + imageSize);
        if (batches < 1) throw new IllegalArgumentException("need at least one input batch, got " + batches);
        this.backend = backend;
        this.images = new Tensor[batches];
        this.labels = new Tensor[batches];
        DenseNet n = null;
        Tensor d = null, m = null, r = null;
        try {
            n = new DenseNet(config, backend, mode, seed);
            SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
            for (int i = 0; i < batches; i++) {
                images[i] = Peaks.randomTensor(backend, rng, batch, config.inChannels(), imageSize, imageSize);
                labels[i] = backend.allocate(DType.I32, batch);
                int[] y = new int[batch];
                for (int j = 0; j < batch; j++) y[j] = rng.nextInt(config.numClasses());
                backend.upload(y, labels[i]);
            }
            d = backend.allocate(DType.F32, batch, config.numClasses());
            m = backend.allocate(DType.F32, Math.toIntExact(n.parameters().values().numel()));
            backend.fill(m, 0);
            r = backend.allocate(DType.F32, 1);
        } catch (RuntimeException e) {
            for (Tensor t : images) if (t != null) t.close();
            for (Tensor t : labels) if (t != null) t.close();
            if (d != null) d.close();
            if (m != null) m.close();
            if (r != null) r.close();
            if (n != null) n.close();
            throw e;
        }
        this.net = n;
        this.dLogits = d;
        this.momentum = m;
        this.rate = r;
        this.graphs = new CapturedSteps(backend, System.err);
        this.scaler = LossScaler.forPrecision(backend, backend.precision());
    }

    public DenseNet net() {
        return net;
    }

    /**
     * Steps as one rank of a data-parallel run: every rank's gradients averaged through {@code p} (its buckets
     * overlapping backward where it does), timed under "allreduce". Every rank starts from its own seed's
     * weights: what is timed does not depend on their values.
     */
    public TrainingStep dataParallel(DataParallel p) {
        this.par = p;
        graphs.across(p);
        return this;
    }

    /** Forward, loss, backward and update on the next batch. */
    public void train() {
        int i = advance();
        backend.fill(rate, SGD.lr());
        long at = net.trainingStep();
        net.setTrainingStep(at);   // with dropout, writes this step's mask seeds where a replay reads them
        last = graphs.run(new Inputs(images[i], true), "the benchmark's training step", "a batch of " + dLogits.dim(0), () -> {
            net.setTrainingStep(at);
            Tensor logits;
            try (var s = OpScope.enter("fwd")) {
                logits = net.forward(images[i], true);
            }
            PendingLoss loss;
            try (var s = OpScope.enter("loss")) {
                loss = backend.softmaxCrossEntropyAsync(logits, labels[i], dLogits);
                if (scaler != null) scaler.scaleLossGradient(dLogits);
            }
            long step = steps++;
            try (var s = OpScope.enter("bwd")) {
                net.backward(dLogits, from -> par.gradientsReady(net.parameters(), from, step));
            }
            try (var s = OpScope.enter("allreduce")) {
                par.averageGradients(net.parameters(), step);
            }
            try (var s = OpScope.enter("sgd")) {
                if (scaler != null) scaler.checkGradients(net.parameters().grads());
                backend.sgdStep(net.parameters().values(), net.parameters().grads(), momentum, SGD, rate, scaler == null ? null : scaler.state());
            }
            return loss;
        });
        net.completeTrainingStep(at);
    }

    /** Steps replayed from a captured graph so far (0 where the backend has none, or they are off). */
    public long replayedSteps() {
        return graphs.replays();
    }

    /** Inference forward (running statistics, no dropout) on the next batch. */
    public void inference() {
        int i = advance();
        graphs.run(new Inputs(images[i], false), "the benchmark's inference forward", "a batch of " + dLogits.dim(0), () -> {
            try (var s = OpScope.enter("fwd")) {
                net.forward(images[i], false);
            }
            return null;
        });
    }

    /** What a captured step is keyed by: the batch it reads, and whether it trains (the two share the batch's buffers). */
    private record Inputs(Tensor images, boolean training) {
    }

    /**
     * The loss of the last training step (read back only here: a step itself never waits for the
     * device, as the PyTorch peer's does not); throws if training diverged, which would make the
     * timings meaningless.
     */
    public LossResult lastLoss() {
        if (last == null) return null;
        LossResult r = last.get();
        if (!Double.isFinite(r.loss())) {
            throw new IllegalStateException("the benchmark's training step diverged (loss " + r.loss() + "); timings of NaN arithmetic are not representative");
        }
        return r;
    }

    private int advance() {
        int i = next;
        next = (next + 1) % images.length;
        return i;
    }

    @Override
    public void close() {
        if (scaler != null) scaler.close();
        graphs.close();
        rate.close();
        for (Tensor t : images) t.close();
        for (Tensor t : labels) t.close();
        dLogits.close();
        momentum.close();
        net.close();
    }
}
