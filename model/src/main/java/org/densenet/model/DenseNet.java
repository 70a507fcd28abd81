package org.densenet.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import org.densenet.engine.Backend;
import org.densenet.engine.CounterRng;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.profile.OpScope;

/**
 * A DenseNet on one backend, with explicit forward and backward. Parameters and gradients live in
 * {@link #parameters()}; activations live in a workspace made for the current input shape and
 * kept while the shape stays the same, laid out as the {@link MemoryMode} says.
 *
 * <pre>
 * Tensor logits = net.forward(x, true);
 * LossResult r = backend.softmaxCrossEntropy(logits, labels, dLogits);
 * net.backward(dLogits);   // overwrites net.parameters().grads()
 * </pre>
 */
public final class DenseNet implements AutoCloseable {
    /** Every batch norm's epsilon: torchvision's BatchNorm2d default (exports use the same). */
    public static final double BATCH_NORM_EPS = 1e-5;

    private final DenseNetConfig config;
    private final Backend backend;
    private final MemoryMode mode;
    private final DType dtype;
    /** What activations and their gradients are stored in: dtype, or the backend's 16-bit type in BF16/FP16 training on a GPU. */
    private final DType activations;
    private final Parameters params;
    private final StemLayer stem;
    private final List<DenseBlock> blocks = new ArrayList<>();
    private final List<Transition> transitions = new ArrayList<>();
    private final Head head;
    private final int[] firstLayer;  // global index of each block's first dense layer, for dropout seeds
    // labels under which a profiler groups the ops of each block and transition (org.densenet.engine.profile)
    private final String[] blockScopes;
    private final String[] transitionScopes;

    private Workspace workspace;
    private boolean workspaceTrains;
    private StemLayer.Acts stemActs;
    private Transition.Acts[] transitionActs;
    private Head.Acts headActs;
    private Tensor images;
    /** Images given in the model's type, converted to the activation type (null when the two types are one). */
    private Tensor convertedImages;
    private boolean backwardReady;
    private long dropoutSeed;
    /** With dropout: I32 [2 * layers], each dense layer's 64-bit mask seed for the step in {@link #seedsFor}; else null. */
    private Tensor dropoutSeeds;
    /** Views of {@link #dropoutSeeds}, one I32 [2] per dense layer in network order. */
    private Tensor[] layerSeeds;
    /** The training-step counter whose seeds {@link #dropoutSeeds} holds; -1 before any. */
    private long seedsFor = -1;
    private long step;
    /** The last training step whose forward has counted every BN's num_batches_tracked: each step counts once. */
    private long countedThrough;

    /** A float32 model. */
    public DenseNet(DenseNetConfig config, Backend backend, MemoryMode mode, long seed) {
        this(config, backend, mode, seed, DType.F32);
    }

    /**
     * @param seed  initialises the weights as torchvision does (Kaiming-normal convolutions, BN gamma 1
     *              and beta 0, nn.Linear's default weight, bias 0) and is the first dropout seed
     * @param dtype F32, or F64 where the backend supports it (reference checks)
     */
    public DenseNet(DenseNetConfig config, Backend backend, MemoryMode mode, long seed, DType dtype) {
        this.config = config;
        this.backend = backend;
        this.mode = mode;
        this.dtype = dtype;
        this.activations = dtype == DType.F32 ? backend.activationDType() : dtype;
        this.params = new Parameters(backend, dtype, config.parameterCount(), 2 * config.normChannels());
        try {
            this.stem = new StemLayer(backend, params, config);
            firstLayer = new int[config.blockCount()];
            blockScopes = new String[config.blockCount()];
            transitionScopes = new String[config.blockCount() - 1];
            for (int b = 0; b < config.blockCount(); b++) {
                firstLayer[b] = b == 0 ? 0 : firstLayer[b - 1] + config.layers(b - 1);
                blockScopes[b] = "features.denseblock" + (b + 1);
                blocks.add(DenseBlock.create(mode, backend, params, blockScopes[b], config, b));
                if (b + 1 < config.blockCount()) {
                    transitionScopes[b] = "features.transition" + (b + 1);
                    transitions.add(new Transition(backend, params, transitionScopes[b],
                            config.blockOutputChannels(b), config.blockInputChannels(b + 1)));
                }
            }
            this.head = new Head(backend, params, config.finalChannels(), config.numClasses());
            params.seal(seed);
        } catch (RuntimeException e) {
            params.close();
            throw e;
        }
        this.dropoutSeed = seed;
        if (config.dropout() > 0) {
            int last = config.blockCount() - 1, layers = firstLayer[last] + config.layers(last);
            try {
                dropoutSeeds = backend.allocate(DType.I32, 2 * layers);
            } catch (RuntimeException e) {
                params.close();
                throw e;
            }
            layerSeeds = new Tensor[layers];
            for (int l = 0; l < layers; l++) layerSeeds[l] = dropoutSeeds.narrow(0, 2 * l, 2);
        }
    }

    public DenseNetConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    public MemoryMode mode() {
        return mode;
    }

    public DType dtype() {
        return dtype;
    }

    /**
     * The type activations and their gradients are stored in: {@link #dtype()}, or BF16 / F16 where the
     * backend stores a float32 model's activations in 16 bits ({@code Backend.activationDType()}).
     * Weights, their gradients, batch-norm statistics, the pooled features and the logits stay in dtype.
     */
    public DType activationDType() {
        return activations;
    }

    public Parameters parameters() {
        return params;
    }

    /** Dropout masks come from CounterRng seeded by (this seed, training step, layer): runs repeat exactly. */
    public void setDropoutSeed(long seed) {
        this.dropoutSeed = seed;
        this.seedsFor = -1;
    }

    /** Training forwards run so far; the next one draws the dropout masks of step + 1. */
    public long trainingStep() {
        return step;
    }

    /**
     * Sets the training-step counter, e.g. when resuming from a checkpoint, so dropout masks continue
     * as before. With dropout it also writes the masks' seeds for the next training forward into
     * device memory, unless they are there already: called before a captured step is replayed (or
     * captured), it gives the replay its step's masks, and the call inside the captured work then
     * queues nothing.
     */
    public void setTrainingStep(long step) {
        if (step < 0) throw new IllegalArgumentException("training step must be >= 0, got " + step);
        this.step = step;
        countedThrough = Math.max(countedThrough, step);
        writeSeeds(step + 1);
    }

    /** Uploads the dense layers' dropout seeds for training-step counter {@code counter}, unless they are there already. */
    private void writeSeeds(long counter) {
        if (dropoutSeeds == null || seedsFor == counter) return;
        long stepSeed = CounterRng.bits(dropoutSeed, counter);
        int[] words = new int[2 * layerSeeds.length];
        for (int l = 0; l < layerSeeds.length; l++) {
            int[] w = Backend.dropoutSeedWords(CounterRng.bits(stepSeed, l));
            words[2 * l] = w[0];
            words[2 * l + 1] = w[1];
        }
        backend.upload(words, dropoutSeeds);
        seedsFor = counter;
    }

    /**
     * Does on the host what the training forward of step {@code step} (0-based: the counter before
     * it) does besides queueing ops, once however often that forward ran: not at all for a step
     * replayed from a captured graph, twice for a failed capture followed by the step. The counter
     * becomes step + 1 and every batch norm's num_batches_tracked counts the step.
     */
    public void completeTrainingStep(long step) {
        if (step < 0) throw new IllegalArgumentException("training step must be >= 0, got " + step);
        this.step = step + 1;
        countBatches();
    }

    /** Counts the current step in every BN's num_batches_tracked, unless a forward of this step already did. */
    private void countBatches() {
        if (step <= countedThrough) return;
        countedThrough = step;
        for (int i = 0, n = config.normLayers(); i < n; i++) params.countBatch(i);
    }

    /**
     * Runs the network on images [N, inChannels, H, W] (kept by reference until {@link #backward}), in
     * the model's type or the activation type; the first are converted to the second on the way in.
     * Training mode uses batch statistics, moves the running ones and applies dropout.
     *
     * @return logits [N, numClasses], owned by the model and valid until the next forward
     */
    public Tensor forward(Tensor images, boolean training) {
        int[] shape = images.shape();
        if (images.rank() != 4 || shape[1] != config.inChannels()) {
            throw new IllegalArgumentException("the model takes images [N, " + config.inChannels() + ", H, W], got "
                    + Arrays.toString(shape));
        }
        if (images.dtype() != dtype && images.dtype() != activations) {
            throw new IllegalArgumentException("the model computes in " + dtype + (activations == dtype ? "" : " (activations in " + activations + ")")
                    + ", images are " + images.dtype());
        }
        prepare(shape, training);
        if (images.dtype() != activations) {
            backend.copy(images, convertedImages, false);
            images = convertedImages;
        }
        if (training) {
            step++;
            countBatches();
            writeSeeds(step);
        }
        try (var s = OpScope.enter("stem")) {
            stem.forward(images, stemActs, training);
        }
        for (int b = 0; b < blocks.size(); b++) {
            try (var s = OpScope.enter(blockScopes[b])) {
                blocks.get(b).forward(training, seeds(b));
            }
            if (b < transitions.size()) {
                try (var s = OpScope.enter(transitionScopes[b])) {
                    transitions.get(b).forward(transitionActs[b], training);
                }
            }
        }
        try (var s = OpScope.enter("head")) {
            head.forward(headActs, training);
        }
        this.images = images;
        this.backwardReady = training;
        return headActs.logits();
    }

    /** Backward of the last training forward, given dLoss/dLogits [N, numClasses]; overwrites every gradient. */
    public void backward(Tensor dLogits) {
        backward(dLogits, from -> { });
    }

    /**
     * {@link #backward(Tensor)}, telling {@code gradientsFrom} as it goes which gradients are final: after the
     * head, each dense layer, each transition and the stem, the flat offset (into {@link Parameters#grads()})
     * from which every gradient has had its last op queued. Backward runs in reverse registration order, so
     * the offsets fall, ending at 0; a data-parallel step starts each bucket's all-reduce once they pass it.
     */
    public void backward(Tensor dLogits, java.util.function.LongConsumer gradientsFrom) {
        if (!backwardReady) throw new IllegalStateException("backward needs a training-mode forward first");
        if (!dLogits.sameShape(headActs.logits())) {
            throw new IllegalArgumentException("dLogits must be " + Arrays.toString(headActs.logits().shape()) + ", got "
                    + Arrays.toString(dLogits.shape()));
        }
        boolean recompute = mode.sharesStorage();
        int last = blocks.size() - 1;
        try (var s = OpScope.enter("head")) {
            head.backward(headActs, dLogits, blocks.get(last).outputGrad());
        }
        gradientsFrom.accept(head.firstOffset());
        for (int b = last; b >= 0; b--) {
            try (var s = OpScope.enter(blockScopes[b])) {
                blocks.get(b).backward(seeds(b), gradientsFrom);
            }
            if (b > 0) {
                try (var s = OpScope.enter(transitionScopes[b - 1])) {
                    transitions.get(b - 1).backward(transitionActs[b - 1], blocks.get(b).inputGrad(), blocks.get(b - 1).outputGrad(), recompute);
                }
                gradientsFrom.accept(transitions.get(b - 1).firstOffset());
            }
        }
        try (var s = OpScope.enter("stem")) {
            stem.backward(images, stemActs, blocks.get(0).inputGrad());
        }
        gradientsFrom.accept(0);
    }

    /** Frees the activation workspace (it is made again by the next forward). */
    public void releaseActivations() {
        if (workspace != null) workspace.close();
        workspace = null;
        backwardReady = false;
    }

    @Override
    public void close() {
        releaseActivations();
        if (dropoutSeeds != null) dropoutSeeds.close();
        params.close();
    }

    /** Block b's dropout seeds by layer index: views of the seeds written for the current step (null without dropout). */
    private IntFunction<Tensor> seeds(int b) {
        int first = firstLayer[b];
        return l -> layerSeeds == null ? null : layerSeeds[first + l];
    }

    /** Makes the workspace for this input shape unless the current one serves (a training one also serves inference). */
    private void prepare(int[] shape, boolean training) {
        if (workspace != null && workspace.fits(shape) && (workspaceTrains || !training)) return;
        releaseActivations();
        int n = shape[0], h = shape[2], w = shape[3];
        long[] scratch = MemoryPlanner.scratchElements(config, mode, n, h, w, training);
        Workspace ws = new Workspace(backend, dtype, activations, shape, scratch);
        try {
            bind(ws, n, h, w, training);
        } catch (RuntimeException e) {
            ws.close();
            throw e;
        }
        workspace = ws;
        workspaceTrains = training;
    }

    private void bind(Workspace ws, int n, int h, int w, boolean training) {
        boolean shared = mode.sharesStorage();
        convertedImages = activations == dtype ? null : ws.kept(n, config.inChannels(), h, w);
        int[] heights = new int[blocks.size()];
        int[] widths = new int[blocks.size()];
        for (int b = 0; b < blocks.size(); b++) {
            heights[b] = config.featureSize(b, h);
            widths[b] = config.featureSize(b, w);
            blocks.get(b).prepare(ws, n, heights[b], widths[b], training);
        }
        if (config.stem() == Stem.CIFAR) {
            stemActs = new StemLayer.Acts(null, null, null, null, blocks.get(0).input(), null, null);
        } else {
            int f = config.initFeatures();
            int h0 = stem.conv0Size(h), w0 = stem.conv0Size(w);
            stemActs = new StemLayer.Acts(ws.kept(n, f, h0, w0), ws.keptFloat(f), ws.keptFloat(f), ws.kept(n, f, h0, w0), blocks.get(0).input(),
                    training ? ws.scratch(Workspace.Role.INNER_GRAD, n, f, h0, w0) : null,
                    training ? ws.scratch(Workspace.Role.NORM_GRAD, n, f, h0, w0) : null);
        }
        transitionActs = new Transition.Acts[transitions.size()];
        for (int b = 0; b < transitions.size(); b++) {
            DenseBlock block = blocks.get(b);
            int c = config.blockOutputChannels(b), out = config.blockInputChannels(b + 1);
            transitionActs[b] = new Transition.Acts(block.output(), block.outputMean(), block.outputVar(), block.outputStatsReady(),
                    shared ? ws.scratch(Workspace.Role.NORM, n, c, heights[b], widths[b]) : ws.kept(n, c, heights[b], widths[b]),
                    shared ? ws.scratch(Workspace.Role.INNER, n, out, heights[b], widths[b]) : ws.kept(n, out, heights[b], widths[b]),
                    blocks.get(b + 1).input(),
                    training ? ws.scratch(Workspace.Role.INNER_GRAD, n, out, heights[b], widths[b]) : null,
                    training ? ws.scratch(Workspace.Role.NORM_GRAD, n, c, heights[b], widths[b]) : null);
        }
        int last = blocks.size() - 1;
        DenseBlock block = blocks.get(last);
        int c = config.finalChannels();
        headActs = new Head.Acts(block.output(), block.outputMean(), block.outputVar(), block.outputStatsReady(),
                shared ? ws.scratch(Workspace.Role.NORM, n, c, heights[last], widths[last]) : ws.kept(n, c, heights[last], widths[last]),
                ws.keptFloat(n, c), ws.keptFloat(n, config.numClasses()),
                training ? ws.keptFloat(n, c) : null,
                training ? ws.scratch(Workspace.Role.NORM_GRAD, n, c, heights[last], widths[last]) : null);
    }
}
