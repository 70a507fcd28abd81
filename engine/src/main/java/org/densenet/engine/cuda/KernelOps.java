package org.densenet.engine.cuda;

import java.util.Arrays;

import jcuda.driver.CUmodule;
import org.densenet.engine.DType;
import org.densenet.engine.GraphCaptureException;
import org.densenet.engine.ImageNormalization;
import org.densenet.engine.LossScaling;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.Pool2d;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.kernels.AugmentKernels;
import org.densenet.engine.cuda.kernels.Augmentation;
import org.densenet.engine.cuda.kernels.BnReluKernels;
import org.densenet.engine.cuda.kernels.BnStatsKernels;
import org.densenet.engine.cuda.kernels.DeviceSlice;
import org.densenet.engine.cuda.kernels.ElementwiseKernels;
import org.densenet.engine.cuda.kernels.KernelArgs;
import org.densenet.engine.cuda.kernels.KernelLauncher;
import org.densenet.engine.cuda.kernels.KernelModule;
import org.densenet.engine.cuda.kernels.LaunchGeometry;
import org.densenet.engine.cuda.kernels.LoadedModule;
import org.densenet.engine.cuda.kernels.LossKernels;
import org.densenet.engine.cuda.kernels.LossScaleKernels;
import org.densenet.engine.cuda.kernels.PoolKernels;
import org.densenet.engine.cuda.kernels.ReplicaSums;
import org.densenet.engine.cuda.kernels.SgdKernels;
import org.densenet.kernels.KernelImage;

/**
 * The ops that run in the project's own CUDA kernels: the fatbin of the kernels module loaded as
 * one module ({@link KernelModule}: functions by name, launches on the backend's stream), and the
 * launchers of org.densenet.engine.cuda.kernels fed with {@link DeviceSlice}s of the backend's
 * tensors. Shapes the launchers do not check themselves (vectors of C, matrix operands) are
 * checked here, naming the op.
 */
final class KernelOps implements KernelModule, AutoCloseable {
    /** Smallest scratch block: the partial sums of 256 channels in 16 chunks, so most ops never grow it. */
    private static final long MIN_SCRATCH = 64 << 10;

    private final CudaBackend backend;
    private final CudaContext ctx;
    private final CUmodule module;
    private final LoadedModule loaded;
    private final ElementwiseKernels elementwise = new ElementwiseKernels(this);
    private final BnStatsKernels stats = new BnStatsKernels(this);
    private final BnReluKernels bn = new BnReluKernels(this);
    private final PoolKernels pool = new PoolKernels(this);
    private final LossKernels loss = new LossKernels(this);
    private final SgdKernels sgd = new SgdKernels(this);
    private final LossScaleKernels lossScale = new LossScaleKernels(this);
    private final AugmentKernels augment = new AugmentKernels(this);
    private final LossReadback lossReadback;
    /** The launchers' scratch (partial sums, per-channel constants). */
    private final GrowingBlock scratch;
    private final DeviceAllocator allocator;
    /** The learning rate of {@link #sgdStep} given by value, written here before its kernel reads it. */
    private final DeviceAllocator.Block lrSlot;
    /** While a capture runs: the captured graph's loss result slot, and the rows of the loss captured into it (0: none yet). */
    private DeviceAllocator.Block captureLoss;
    private int captureLossRows;
    /** Kernels launched so far (Backend.kernelLaunches). */
    private long launches;
    /** Training-mode batch norm over every data-parallel replica's batch through these (SyncBatchNorm), or null: this device's batch. */
    private ReplicaSums replicas;

    private KernelOps(CudaBackend backend, CudaContext ctx, DeviceAllocator allocator, CUmodule module, KernelLauncher launcher) {
        this.backend = backend;
        this.ctx = ctx;
        this.module = module;
        this.loaded = new LoadedModule(module, launcher, ctx.streamAddress());
        this.allocator = allocator;
        this.lossReadback = new LossReadback(ctx, allocator);
        this.scratch = new GrowingBlock(allocator);
        this.lrSlot = allocator.allocate(4, "the SGD step's learning rate");
    }

    static KernelOps load(CudaBackend backend, CudaContext ctx, DeviceAllocator allocator, KernelLauncher launcher) {
        byte[] image;
        try {
            image = KernelImage.fatbin();
        } catch (IllegalStateException | java.io.UncheckedIOException e) {
            throw new CudaUnavailableException(e.getMessage()); // a build without the fatbin: "auto" falls back to the CPU
        }
        CUmodule m = ctx.loadModule(image, "the project's CUDA kernels (" + KernelImage.FATBIN_RESOURCE + ")");
        try {
            return new KernelOps(backend, ctx, allocator, m, launcher);
        } catch (RuntimeException e) {
            ctx.unloadModule(m);
            throw e;
        }
    }

    // ---- KernelModule ---------------------------------------------------------------------

    @Override
    public void launch(String kernel, LaunchGeometry g, KernelArgs args) {
        loaded.launch(kernel, g, args);
        launches++;
    }

    long launches() {
        return launches;
    }

    @Override
    public long scratch(long bytes) {
        if (bytes < 1) throw new IllegalArgumentException("scratch size must be >= 1 byte, got " + bytes);
        return scratch.atLeast(Math.max(bytes, MIN_SCRATCH), () -> "the kernels' scratch").address();
    }

    // ---- operands -------------------------------------------------------------------------

    /** Where the SGD step writes the 16-bit copy of the parameters it updates: the copy's address at params' first element, and its type. */
    record Copy16(long address, DType type) {
    }

    /** A float32 or 16-bit activation (channel slice or contiguous) of this backend as the launchers take it. */
    private DeviceSlice slice(String op, String name, Tensor t) {
        CudaStorage s = backend.storage(op, name, t);
        try {
            return DeviceSlice.of(t, s.address());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op + ": " + name + ": " + e.getMessage(), e);
        }
    }

    /** Address of a contiguous tensor of exactly this shape and type. */
    private long operand(String op, String name, Tensor t, DType dtype, int... shape) {
        CudaStorage s = backend.storage(op, name, t);
        if (t.dtype() != dtype || !t.isContiguous() || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(op + ": " + name + " must be a contiguous " + dtype + " " + Arrays.toString(shape) + ", got " + t);
        }
        return TensorLayout.address(s.address(), t);
    }

    private long vector(String op, String name, Tensor t, int c) {
        return operand(op, name, t, DType.F32, c);
    }

    // ---- ops ----------------------------------------------------------------------------

    /** dst = src or dst += src, converting when one is float32 and the other 16 bits. */
    void copy(Tensor src, Tensor dst, boolean accumulate) {
        String op = accumulate ? "copy (accumulate)" : "copy";
        elementwise.copy(slice(op, "src", src), slice(op, "dst", dst), accumulate);
    }

    /** A 16-bit fill: value rounded once to dst's type. */
    void fill(Tensor dst, float value) {
        elementwise.fill(slice("fill", "dst", dst), value);
    }

    /** The 16-bit copy of {@code count} float32 values at {@code src}, written at {@code dst}. */
    void convert(long src, long dst, long count, DType type) {
        if (count > Integer.MAX_VALUE) throw new IllegalArgumentException("a 16-bit copy of " + count + " values: at most 2^31 - 1 in one buffer");
        elementwise.copy(DeviceSlice.flat(src, (int) count), DeviceSlice.flat(dst, (int) count, type), false);
    }

    /** Rewrites the part of a 16-bit copy (at copyBase, of the storage at storageBase) that t, a float32 view of that storage, covers. */
    void refreshCopy16(Tensor t, long storageBase, long copyBase, DType type) {
        DeviceSlice s = DeviceSlice.of(t, storageBase);
        elementwise.copy(s, s.as(type, copyBase + t.offset() * type.bytes()), false);
    }

    /** dw (=|+=) the 16-bit weight gradient at src, widened: dw a contiguous float32 filter, src laid out as dw. */
    void addWidened(long src, DType type, Tensor dw, boolean accumulate) {
        DeviceSlice d = slice("conv backward filter", "dw", dw);
        elementwise.copy(d.as(type, src), d, accumulate);
    }

    void relu(Tensor x, Tensor y) {
        elementwise.relu(slice("relu", "x", x), slice("relu", "y", y));
    }

    void reluBackward(Tensor y, Tensor dy, Tensor dx, boolean accumulate) {
        String op = "relu backward";
        elementwise.reluBackward(slice(op, "y", y), slice(op, "dy", dy), slice(op, "dx", dx), accumulate);
    }

    void synchronizeBatchNorm(ReplicaSums sums) {
        this.replicas = sums;
    }

    void batchNormStatistics(Tensor x, Tensor mean, Tensor var) {
        String op = "batch-norm statistics";
        DeviceSlice sx = activation(op, "x", x);
        long m = vector(op, "mean", mean, sx.c()), v = vector(op, "var", var, sx.c());
        if (replicas != null) stats.replicaStatistics(sx, m, v, replicas);
        else stats.statistics(sx, m, v);
    }

    void batchNormUpdateRunning(Tensor mean, Tensor var, long count, double momentum, Tensor runningMean, Tensor runningVar) {
        String op = "batch-norm running statistics";
        int c = mean.dim(0);
        stats.updateRunning(c, vector(op, "mean", mean, c), vector(op, "var", var, c), count, momentum,
                vector(op, "runningMean", runningMean, c), vector(op, "runningVar", runningVar, c));
    }

    void batchNormApply(Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu, Tensor y) {
        String op = "batch-norm";
        DeviceSlice sx = activation(op, "x", x);
        int c = sx.c();
        bn.apply(sx, vector(op, "mean", mean, c), vector(op, "var", var, c), vector(op, "gamma", gamma, c),
                vector(op, "beta", beta, c), eps, relu, activation(op, "y", y));
    }

    void batchNormApplyTraining(Tensor x, Tensor mean, Tensor var, boolean statsReady, Tensor gamma, Tensor beta, double eps,
                                boolean relu, Tensor y, double momentum, Tensor runningMean, Tensor runningVar) {
        String op = "batch-norm (training)";
        DeviceSlice sx = activation(op, "x", x);
        int c = sx.c();
        bn.applyTraining(sx, vector(op, "mean", mean, c), vector(op, "var", var, c), !statsReady, vector(op, "gamma", gamma, c),
                vector(op, "beta", beta, c), eps, relu, activation(op, "y", y), momentum,
                vector(op, "runningMean", runningMean, c), vector(op, "runningVar", runningVar, c), replicas);
    }

    void batchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu,
                           Tensor dx, boolean accumulateDx, Tensor dgamma, Tensor dbeta) {
        String op = "batch-norm backward";
        DeviceSlice sx = activation(op, "x", x);
        int c = sx.c();
        bn.backward(sx, activation(op, "dy", dy), vector(op, "mean", mean, c), vector(op, "var", var, c),
                vector(op, "gamma", gamma, c), vector(op, "beta", beta, c), eps, relu, activation(op, "dx", dx), accumulateDx,
                vector(op, "dgamma", dgamma, c), vector(op, "dbeta", dbeta, c), replicas);
    }

    /** A 4-D [N, C, H, W] activation. */
    private DeviceSlice activation(String op, String name, Tensor t) {
        if (t == null || t.rank() != 4) throw new IllegalArgumentException(op + ": " + name + " must be 4-D [N, C, H, W], got " + t);
        return slice(op, name, t);
    }

    void avgPoolForward(Tensor x, Tensor y, Pool2d p) {
        String op = "average pooling";
        pool.avgForward(activation(op, "x", x), activation(op, "y", y), p);
    }

    void avgPoolBackward(Tensor dy, Tensor dx, Pool2d p, boolean accumulate) {
        String op = "average pooling backward";
        pool.avgBackward(activation(op, "dy", dy), activation(op, "dx", dx), p, accumulate);
    }

    void maxPoolForward(Tensor x, Tensor y, Pool2d p) {
        String op = "max pooling";
        pool.maxForward(activation(op, "x", x), activation(op, "y", y), p);
    }

    /** The kernel recomputes each window's first maximum from x, so y is only checked. */
    void maxPoolBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, Pool2d p, boolean accumulate) {
        String op = "max pooling backward";
        DeviceSlice sy = activation(op, "y", y), sdy = activation(op, "dy", dy);
        if (!sy.sameShape(sdy)) throw new IllegalArgumentException(op + ": y " + y + " and dy " + dy + " differ in shape");
        pool.maxBackward(activation(op, "x", x), sdy, activation(op, "dx", dx), p, accumulate);
    }

    void globalAvgPoolForward(Tensor x, Tensor y) {
        String op = "global average pooling";
        DeviceSlice sx = activation(op, "x", x);
        pool.globalAvgForward(sx, operand(op, "y", y, DType.F32, sx.n(), sx.c()));
    }

    void globalAvgPoolBackward(Tensor dy, Tensor dx, boolean accumulate) {
        String op = "global average pooling backward";
        DeviceSlice sdx = activation(op, "dx", dx);
        pool.globalAvgBackward(operand(op, "dy", dy, DType.F32, sdx.n(), sdx.c()), sdx, accumulate);
    }

    /** Queues the loss kernel and the copy of its four numbers back to the host; reading them waits for the copy only. */
    PendingLoss softmaxCrossEntropyAsync(Tensor logits, Tensor labels, Tensor dlogits) {
        String op = "softmax cross-entropy";
        if (logits == null || logits.rank() != 2) throw new IllegalArgumentException(op + ": logits must be [N, K], got " + logits);
        int n = logits.dim(0), k = logits.dim(1);
        long l = operand(op, "logits", logits, DType.F32, n, k);
        long lab = operand(op, "labels", labels, DType.I32, n);
        long d = dlogits == null ? 0 : operand(op, "dlogits", dlogits, DType.F32, n, k);
        if (captureLoss != null) {
            if (captureLossRows != 0) throw new GraphCaptureException("a second loss cannot be part of one capture (its result is read per replay)");
            loss.softmaxCrossEntropy(l, lab, d, n, k, captureLoss.address());
            captureLossRows = n;
            return () -> {
                throw new IllegalStateException("a captured loss has no result until the graph is replayed: read CapturedGraph.replay()'s");
            };
        }
        loss.softmaxCrossEntropy(l, lab, d, n, k, lossReadback.nextSlot());
        return lossReadback.queued(n);
    }

    /** A capture begins: a loss op writes into {@code slot} (the graph's own) instead of the read-back slots. */
    void beginCapture(DeviceAllocator.Block slot) {
        captureLoss = slot;
        captureLossRows = 0;
    }

    /** The capture ended: the rows of the loss it captured, 0 for none. */
    int endCapture() {
        captureLoss = null;
        return captureLossRows;
    }

    LossReadback lossReadback() {
        return lossReadback;
    }

    /** dst (contiguous float32 or 16-bit [N, C, H, W]) = the normalised 8-bit images at device address src, in the same order. */
    void normalizeImages(long src, Tensor dst, ImageNormalization norm) {
        String op = "uploadImages";
        long d = operand(op, "dst", dst, dst.dtype(), dst.shape());
        augment.cropFlipNormalize(src, false, dst.dim(0), dst.dim(1), dst.dim(2), dst.dim(3), Augmentation.normalizeOnly(norm), 0, 0, d,
                dst.dtype());
    }

    void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed) {
        String op = "dropout";
        elementwise.dropoutForward(slice(op, "x", x), slice(op, "y", y), slice(op, "mask", mask), p, seed);
    }

    void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, Tensor seed) {
        String op = "dropout";
        long s = operand(op, "seed", seed, DType.I32, 2);
        elementwise.dropoutForwardSeeded(slice(op, "x", x), slice(op, "y", y), slice(op, "mask", mask), p, s);
    }

    void dropoutBackward(Tensor dy, Tensor mask, Tensor dx, boolean accumulate) {
        String op = "dropout backward";
        elementwise.dropoutBackward(slice(op, "dy", dy), slice(op, "mask", mask), slice(op, "dx", dx), accumulate);
    }

    /** The rate given by value goes through a device word as well, so both forms run the same kernel on the same float. */
    /** copy16: the 16-bit copy of params to rewrite in the same pass, or null. */
    void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams p, Copy16 copy16) {
        ctx.refuseWhileCapturing("an SGD step with its learning rate given by value (every replay would use this rate; pass it in a tensor)");
        ctx.fill32(lrSlot, 1, Float.floatToRawIntBits((float) p.lr()), "SGD step (learning rate)");
        sgdStep(params, grads, momentumBuffer, p, lrSlot.address(), 0, copy16);
    }

    /** scaler: the loss scaler's state for a loss-scaled step, or null; copy16 as above. */
    void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams p, Tensor lr, Tensor scaler, Copy16 copy16) {
        String op = "SGD step";
        sgdStep(params, grads, momentumBuffer, p, operand(op, "lr", lr, DType.F32, 1), scaler == null ? 0 : scalerState(op, scaler), copy16);
    }

    private void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams p, long lr, long scaler, Copy16 copy16) {
        String op = "SGD step";
        if (params == null || params.rank() != 1) throw new IllegalArgumentException(op + ": params must be a flat 1-D buffer, got " + params);
        int count = params.dim(0);
        long m = momentumBuffer == null && p.momentum() == 0 ? 0 : vector(op, "momentumBuffer", momentumBuffer, count);
        sgd.step(vector(op, "params", params, count), vector(op, "grads", grads, count), m, count, p, lr, scaler,
                copy16 == null ? 0 : copy16.address(), copy16 == null ? DType.F32 : copy16.type());
    }

    private long scalerState(String op, Tensor scaler) {
        LossScaling.checkState(op, scaler);
        return operand(op, "scaler", scaler, DType.F32, LossScaling.STATE_SIZE);
    }

    void scaleLossGradient(Tensor dlogits, Tensor scaler) {
        String op = "loss scaling";
        if (dlogits == null || dlogits.rank() != 2) throw new IllegalArgumentException(op + ": dlogits must be [N, K], got " + dlogits);
        long d = operand(op, "dlogits", dlogits, DType.F32, dlogits.shape());
        lossScale.scale(d, dlogits.numel(), scalerState(op, scaler));
    }

    void checkGradientsAndUpdateScale(Tensor grads, Tensor scaler, LossScaling rule) {
        String op = "gradient check";
        if (grads == null || grads.rank() != 1) throw new IllegalArgumentException(op + ": grads must be the flat 1-D gradient buffer, got " + grads);
        lossScale.checkAndUpdate(vector(op, "grads", grads, grads.dim(0)), grads.dim(0), scalerState(op, scaler), rule);
    }

    @Override
    public void close() {
        allocator.free(lrSlot);
        scratch.close();
        lossReadback.close();
        ctx.unloadModule(module);
    }
}
