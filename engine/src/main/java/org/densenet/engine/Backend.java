package org.densenet.engine;

import java.util.Map;

/**
 * Every operation DenseNet training needs, forward and backward, on one device. The model
 * calls only this interface; {@code CpuBackend} is the reference implementation and
 * {@code CudaBackend} must match it (same results within the tolerance its tests state).
 *
 * <p>Conventions, for every op:
 * <ul>
 *   <li>4-D activations are [N, C, H, W] in the channel-slice layout ({@link Tensor#isChannelSlice()}):
 *       inputs and outputs may be channel slices of a larger storage. 1-D and 2-D tensors
 *       (per-channel vectors, [N, F] matrices, filters [K, C, R, S]) are contiguous.</li>
 *   <li>All floating tensors of one call have the same dtype; shapes are checked and a mismatch
 *       throws {@link IllegalArgumentException} naming the op and the shapes.</li>
 *   <li>Outputs are overwritten unless the op takes {@code accumulate} and it is true, in
 *       which case the result is added to what the output holds. Outputs must not overlap inputs.</li>
 *   <li>Ops are asynchronous on devices that can be; {@link #download} waits for them.</li>
 * </ul>
 */
public interface Backend extends AutoCloseable {

    /** Short description, e.g. "cpu (2 threads)" or "cuda:0 NVIDIA H100 80GB HBM3". */
    String name();

    /** How this backend computes and stores ({@link Precision}); a training step scales its loss when this is FP16. */
    default Precision precision() {
        return Precision.FP32;
    }

    /**
     * The element type a float32 model's activations and their gradients are stored in on this
     * backend: {@link DType#F32}, except on a GPU opened with {@link Precision#BF16} or
     * {@link Precision#FP16} ({@link DType#BF16}, {@link DType#F16}). Ops then take 16-bit
     * activations with float32 per-channel vectors, weights, weight gradients, classifier, loss and
     * optimizer (each op's documentation says which operands are which). The CPU twin of the 16-bit
     * path says F32: it keeps float32 tensors and rounds their values instead.
     */
    default DType activationDType() {
        return DType.F32;
    }

    // ---- memory -------------------------------------------------------------------------

    /** A new contiguous tensor that owns its storage. Contents are undefined. */
    Tensor allocate(DType dtype, int... shape);

    /** Bytes held by this backend's allocator now and at peak. */
    MemoryStats memoryStats();

    /** Starts a new peak-memory measurement at the current live size. */
    void resetPeakMemory();

    /**
     * About how many more bytes of tensors this backend could allocate now: for checking a memory
     * plan before a run starts, not a promise. May be slow (the CPU backend collects garbage
     * first): call it once per run, not per step.
     */
    long availableMemoryBytes();

    /** Where {@link #availableMemoryBytes()} comes from and how to get more, for error messages: one short phrase. */
    String memoryLimitNote();

    /** Waits until every queued op has finished. */
    void synchronize();

    // ---- host transfers (the tensor may be a view; host arrays are dense, row-major) ---

    void upload(float[] src, Tensor dst);

    void upload(double[] src, Tensor dst);

    void upload(int[] src, Tensor dst);

    /**
     * Uploads a batch of 8-bit images and normalises it on the way: dst[n, c, y, x] =
     * {@link ImageNormalization#apply}(src[((n * C + c) * H + y) * W + x], c), reading the first
     * dst.numel() bytes of src as unsigned. dst is a contiguous float32 [N, C, H, W] with C the
     * normalisation's channel count (or, on a GPU, in {@link #activationDType()}'s 16 bits: each value
     * rounded once). A quarter of the bytes of uploading floats, and the
     * normalising is not the host's work. The array may be reused when this returns.
     */
    void uploadImages(byte[] src, Tensor dst, ImageNormalization norm);

    void download(Tensor src, float[] dst);

    void download(Tensor src, double[] dst);

    void download(Tensor src, int[] dst);

    // ---- elementwise --------------------------------------------------------------------

    /** dst = value. */
    void fill(Tensor dst, double value);

    /** dst = src (or dst += src), same shape, any strides of the channel-slice or contiguous layouts. */
    void copy(Tensor src, Tensor dst, boolean accumulate);

    /** y = max(x, 0). x and y may be the same tensor. */
    void relu(Tensor x, Tensor y);

    /** dx = y > 0 ? dy : 0, where y is the forward output. */
    void reluBackward(Tensor y, Tensor dy, Tensor dx, boolean accumulate);

    // ---- convolution: x [N, C, H, W], w [K, C, R, S], y [N, K, P, Q] ------------------

    void convForward(Tensor x, Tensor w, Tensor y, Conv2d conv, boolean accumulate);

    void convBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2d conv, boolean accumulate);

    void convBackwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2d conv, boolean accumulate);

    // ---- batch normalisation over (N, H, W) per channel; mean, var, gamma, beta are [C] --

    /** Per-channel batch mean and biased variance of x. */
    void batchNormStatistics(Tensor x, Tensor mean, Tensor var);

    /**
     * running = (1 - momentum) * running + momentum * batch, with the variance made unbiased by
     * count / (count - 1), where count = N*H*W of the batch the statistics came from (PyTorch's rule).
     */
    void batchNormUpdateRunning(Tensor mean, Tensor var, long count, double momentum, Tensor runningMean, Tensor runningVar);

    /**
     * y = gamma * (x - mean) / sqrt(var + eps) + beta, then max(., 0) when {@code relu}.
     * With batch statistics this is training-mode BN; with running statistics, inference.
     */
    void batchNormApply(Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu, Tensor y);

    /**
     * The normalisation of a training-mode forward: {@link #batchNormStatistics} of x into
     * {@code mean, var} unless {@code statsReady} (they hold x's already), then
     * {@link #batchNormUpdateRunning} with them (count = N*H*W of x) and {@link #batchNormApply}.
     * One op, so that a GPU backend can finish the statistics and move the running statistics in
     * the kernel that normalises instead of in kernels of their own. Without statsReady, y must not
     * be x.
     */
    default void batchNormApplyTraining(Tensor x, Tensor mean, Tensor var, boolean statsReady, Tensor gamma, Tensor beta, double eps,
                                        boolean relu, Tensor y, double momentum, Tensor runningMean, Tensor runningVar) {
        if (!statsReady) batchNormStatistics(x, mean, var);
        batchNormUpdateRunning(mean, var, (long) x.dim(0) * x.dim(2) * x.dim(3), momentum, runningMean, runningVar);
        batchNormApply(x, mean, var, gamma, beta, eps, relu, y);
    }

    /**
     * Backward of training-mode BN (optionally followed by ReLU) whose statistics {@code mean,
     * var} were computed from this same x. The ReLU mask is recomputed from x, so the forward
     * output need not be kept. dgamma and dbeta are overwritten; dx honours {@code accumulateDx}.
     */
    void batchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps,
                           boolean relu, Tensor dx, boolean accumulateDx, Tensor dgamma, Tensor dbeta);

    // ---- pooling ------------------------------------------------------------------------

    void avgPoolForward(Tensor x, Tensor y, Pool2d pool);

    void avgPoolBackward(Tensor dy, Tensor dx, Pool2d pool, boolean accumulate);

    void maxPoolForward(Tensor x, Tensor y, Pool2d pool);

    /** Gradient goes to the first maximum of each window (row-major order), as PyTorch does. */
    void maxPoolBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, Pool2d pool, boolean accumulate);

    /** y [N, C] = mean of x [N, C, H, W] over H, W. */
    void globalAvgPoolForward(Tensor x, Tensor y);

    void globalAvgPoolBackward(Tensor dy, Tensor dx, boolean accumulate);

    // ---- fully connected: x [N, F], w [O, F], b [O], y [N, O] ---------------------------

    void linearForward(Tensor x, Tensor w, Tensor b, Tensor y);

    /** dx may be null (first layer). dw and db are overwritten. */
    void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db);

    // ---- loss ---------------------------------------------------------------------------

    /**
     * Mean softmax cross-entropy of logits [N, K] against labels (I32 [N], each in [0, K)),
     * with top-1 and top-5 counts (top-5 = top-K when K < 5). A sample counts as a top-k hit
     * when fewer than k logits of its row are strictly greater than its label's logit, so ties
     * favour the label. When dlogits is not null it receives (softmax - onehot) / N. A label out
     * of range throws.
     */
    LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits);

    /**
     * {@link #softmaxCrossEntropy} without waiting for its numbers: dlogits is written in queue
     * order like any op's output, and the loss is read when the caller asks, typically after it
     * has queued the rest of the step. A backend that computes as it is called (the CPU's) returns
     * the finished result. A label out of range may throw here or from {@link PendingLoss#get}.
     */
    default PendingLoss softmaxCrossEntropyAsync(Tensor logits, Tensor labels, Tensor dlogits) {
        return PendingLoss.of(softmaxCrossEntropy(logits, labels, dlogits));
    }

    // ---- dropout ------------------------------------------------------------------------

    /**
     * y = x * mask, mask[i] = CounterRng.uniform(seed, i) < p ? 0 : 1 / (1 - p) over the dense
     * row-major index i of x's shape. The mask is written so backward can reuse it.
     */
    void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed);

    /**
     * {@link #dropoutForward(Tensor, Tensor, Tensor, double, long)} with the seed read from memory
     * when the op runs: {@code seed} is an I32 [2] tensor holding the 64-bit seed, low word first
     * ({@link #dropoutSeedWords}). The host writes it before the step, as it writes the learning
     * rate, so a captured graph draws a new mask on every replay.
     */
    void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, Tensor seed);

    /** A 64-bit dropout seed as the two I32 words a seed tensor holds, low word first. */
    static int[] dropoutSeedWords(long seed) {
        return new int[] {(int) seed, (int) (seed >>> 32)};
    }

    void dropoutBackward(Tensor dy, Tensor mask, Tensor dx, boolean accumulate);

    // ---- optimiser ----------------------------------------------------------------------

    /** In-place SGD over flat, contiguous, equally long params / grads / momentum buffers. */
    void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd);

    /**
     * As {@link #sgdStep(Tensor, Tensor, Tensor, SgdParams)}, with the learning rate read when the
     * update runs from {@code lr}, a float32 [1] on this backend, instead of from {@code sgd.lr()}:
     * a captured step ({@link #capture}) then follows a schedule through a {@link #fill} of lr
     * before each replay. The default reads lr back and calls the other form.
     */
    default void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd, Tensor lr) {
        if (lr == null || lr.numel() != 1 || lr.dtype() != DType.F32) throw new IllegalArgumentException("sgdStep: lr must be a float32 [1], got " + lr);
        float[] v = new float[1];
        download(lr, v);
        sgdStep(params, grads, momentumBuffer, new SgdParams(v[0], sgd.momentum(), sgd.weightDecay(), sgd.nesterov()));
    }

    /**
     * As {@link #sgdStep(Tensor, Tensor, Tensor, SgdParams, Tensor)}, for a loss-scaled step when
     * {@code scaler} is not null ({@link LossScaling}'s state, checked by
     * {@link #checkGradientsAndUpdateScale} after backward): the whole step is skipped, parameters
     * and momentum untouched, when the check found an inf or NaN, and otherwise every gradient is
     * multiplied by the unscale factor as it is read (the gradient buffer itself keeps its scaled
     * values). Both are read on the device, so a captured step skips and unscales by itself.
     */
    default void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd, Tensor lr, Tensor scaler) {
        if (scaler != null) throw new UnsupportedOperationException(name() + " does not implement loss-scaled SGD steps");
        sgdStep(params, grads, momentumBuffer, sgd, lr);
    }

    // ---- dynamic loss scaling (FP16) ----------------------------------------------------

    /** dlogits *= scaler[{@link LossScaling#SCALE}]: the loss gradient scaled before backward. dlogits is a contiguous [N, K]. */
    void scaleLossGradient(Tensor dlogits, Tensor scaler);

    /**
     * One fused pass over the flat gradient buffer {@code grads} for an inf or NaN, then
     * {@link LossScaling#update} of {@code scaler} with what it found, all queued on the device
     * (nothing is read back).
     */
    void checkGradientsAndUpdateScale(Tensor grads, Tensor scaler, LossScaling rule);

    // ---- graphs (optional) ----------------------------------------------------------------

    /** Whether {@link #capture} can work here: a GPU backend with graphs on. */
    default boolean capturesGraphs() {
        return false;
    }

    /**
     * Captures the ops {@code work} queues, without running them, as a graph to replay. Throws
     * {@link GraphCaptureException} saying why when the work cannot be captured; nothing has run
     * then, and the work may run again uncaptured. A loss op among the ops is read back from
     * {@link CapturedGraph#replay()}; the {@link PendingLoss} it returns during the capture has no result.
     */
    default CapturedGraph capture(Runnable work) {
        throw new GraphCaptureException(name() + " does not capture graphs");
    }

    // ---- measurement (optional; defaults work on every backend) -------------------------

    /** A timer for ops queued on this backend. The default reads the host clock around a synchronised region. */
    default OpTimer newTimer() {
        return OpTimer.host(this);
    }

    /**
     * Nanoseconds the host has spent blocked waiting for queued device work (stream
     * synchronisation before a transfer, a loss read back, {@link #synchronize()}) since the
     * backend opened. Wall time less the growth of this is the time the host took to issue the
     * work. 0 for backends that finish each op before returning (the CPU): nothing is queued.
     */
    default long waitedNanos() {
        return 0;
    }

    /**
     * Kernels this backend has launched itself (cuLaunchKernel) since it opened; the kernels that
     * cuDNN and cuBLAS start inside a convolution or matrix product are not counted, nor device
     * copies and fills. The count of a training step says how many launches fusing kernels saved.
     * 0 for backends that launch none (the CPU).
     */
    default long kernelLaunches() {
        return 0;
    }

    /** Versions of what the backend runs on (driver, libraries), for benchmark reports; empty when none apply. */
    default Map<String, String> versions() {
        return Map.of();
    }

    /** Frees what the backend holds (pools, handles). Tensors of a closed backend are invalid. */
    @Override
    void close();

    /**
     * Checks an {@link #uploadImages} call: dst contiguous float32 [N, C, H, W] with C the
     * normalisation's channels, and at least dst.numel() source bytes. Returns C.
     */
    static int checkImageBatch(String op, int srcBytes, Tensor dst, ImageNormalization norm) {
        if (dst == null || norm == null) throw new IllegalArgumentException(op + ": dst and the normalisation must not be null");
        if ((dst.dtype() != DType.F32 && !dst.dtype().isSixteenBit()) || dst.rank() != 4 || !dst.isContiguous()) {
            throw new IllegalArgumentException(op + ": dst must be a contiguous float32 (or 16-bit) [N, C, H, W], got " + dst);
        }
        if (dst.dim(1) != norm.channels()) {
            throw new IllegalArgumentException(op + ": dst has " + dst.dim(1) + " channels, the normalisation " + norm.channels());
        }
        if (srcBytes < dst.numel()) {
            throw new IllegalArgumentException(op + ": " + srcBytes + " bytes of pixels for " + dst.numel() + " values");
        }
        return norm.channels();
    }
}
