package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.Checks.contiguous;
import static org.densenet.engine.cpu.Checks.fail;
import static org.densenet.engine.cpu.Checks.floating;
import static org.densenet.engine.cpu.Checks.runnable;
import static org.densenet.engine.cpu.Checks.sameShape;
import static org.densenet.engine.cpu.Checks.shape;

import java.util.Arrays;
import java.util.Map;
import org.densenet.engine.Backend;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Float16;
import org.densenet.engine.ImageNormalization;
import org.densenet.engine.LossResult;
import org.densenet.engine.LossScaling;
import org.densenet.engine.MemoryStats;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Precision;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;

/**
 * The reference backend: Java arrays, a fixed thread pool, every op in float32 and float64.
 * Kernels are written once in float ({@code *F32} classes) and their float64 twins
 * ({@code *F64}) are generated at build time; this class checks arguments and dispatches.
 * Reductions run in a fixed order, so results are identical for any thread count.
 * Ops run synchronously.
 */
public final class CpuBackend implements Backend {
    /** Largest element count of one storage: Java arrays are int-indexed and the VM reserves a few header words. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;
    /** Elements per task of the elementwise ops. */
    private static final int CHUNK = 1 << 15;

    private final CpuAllocator allocator = new CpuAllocator();
    private final Parallel par;
    private final Scratch scratch;
    private final Transfers transfers;
    private final CpuOps ops;
    private final CpuLossScaling lossScaling;
    private final Precision precision;

    /** Uses every available processor. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuBackend(int threads) {
        this(threads, Precision.FP32);
    }

    /**
     * With a 16-bit {@code precision}, the CPU twin of the GPU's 16-bit path: every op that writes an
     * activation or an activation's gradient (convolution outputs and input gradients, batch-norm
     * outputs and input gradients, pooling, dropout, ReLU, accumulating copies, uploaded images)
     * rounds what it wrote to BF16 or FP16, and a convolution reads its input and a rounded copy of
     * its weights, as a GPU storing those tensors in 16 bits would. Arithmetic, batch-norm
     * statistics and parameters, the weight-gradient buffers, the classifier, the loss and SGD stay
     * float32; so does global average pooling's output, the classifier's input. A convolution's
     * weight gradient is rounded once to 16 bits before it goes into its float32 buffer, as cuDNN,
     * which computes it in its inputs' type, hands it to the GPU backend.
     */
    public CpuBackend(int threads, Precision precision) {
        this.precision = precision;
        this.par = new Parallel(threads);
        this.scratch = new Scratch(threads);
        this.transfers = new Transfers(this);
        this.ops = new CpuOps(this);
        this.lossScaling = new CpuLossScaling(this);
    }

    @Override
    public String name() {
        return "cpu (" + par.threads() + (par.threads() == 1 ? " thread)" : " threads)");
    }

    public int threads() {
        return par.threads();
    }

    @Override
    public Precision precision() {
        return precision;
    }

    @Override
    public Map<String, String> versions() {
        return !precision.sixteenBit() ? Backend.super.versions() : Map.of("precision", precision.label() + " (CPU twin: float32 math, " + precision.label() + " storage)");
    }

    /** Rounds a float32 activation in place to the 16-bit storage, when there is one. */
    private void store(Tensor t) {
        if (!precision.sixteenBit() || t.dtype() != DType.F32) return;
        forRuns(t, (r, s, len) -> Float16.round(f32(t), runOffset(t, r) + s, len, precision));
    }

    /** The weights as a 16-bit copy would hold them: {@code w} itself in float32, else a rounded copy the caller closes. */
    private Tensor weights(Tensor w) {
        if (!precision.sixteenBit() || w.dtype() != DType.F32) return w;
        Tensor copy = allocate(DType.F32, w.shape());
        copy(w, copy, false);
        store(copy);
        return copy;
    }

    CpuAllocator allocator() {
        return allocator;
    }

    // ---- memory -------------------------------------------------------------------------

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        if (dtype.isSixteenBit()) {
            throw new IllegalArgumentException("cannot allocate " + dtype + " tensor " + Arrays.toString(shape) + ": the CPU backend stores"
                    + " float32 (with --precision bf16|fp16 it rounds float32 tensors to " + dtype + "'s values, as the CPU twin of a GPU's"
                    + " 16-bit storage); allocate F32 or ask activationDType()");
        }
        long n = Tensor.numel(shape);
        if (n > MAX_ELEMENTS) {
            throw new IllegalArgumentException("cannot allocate " + dtype + " tensor " + Arrays.toString(shape) + ": " + n
                    + " elements exceed the CPU backend's limit of " + MAX_ELEMENTS + " per tensor (Java arrays are int-indexed)");
        }
        allocator.acquire(n * dtype.bytes());
        try {
            return Tensor.owning(new CpuStorage(this, dtype, (int) n), shape);
        } catch (RuntimeException | OutOfMemoryError e) {
            allocator.release(n * dtype.bytes());
            throw e;
        }
    }

    @Override
    public MemoryStats memoryStats() {
        return allocator.stats();
    }

    @Override
    public void resetPeakMemory() {
        allocator.resetPeak();
    }

    /** The Java heap's limit less what is in use after a garbage collection. */
    @Override
    public long availableMemoryBytes() {
        Runtime rt = Runtime.getRuntime();
        if (rt.maxMemory() == Long.MAX_VALUE) return Long.MAX_VALUE;
        System.gc();
        return Math.max(0, rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()));
    }

    @Override
    public String memoryLimitNote() {
        return heapLimitNote();
    }

    /** The Java heap's limit and how to raise it: what bounds this backend's tensors, and anything else on the heap. */
    public static String heapLimitNote() {
        return String.format(java.util.Locale.ROOT, "the Java heap's limit, %.1f GiB: raise it with DENSENET_JAVA_OPTS=-Xmx<size>",
                Runtime.getRuntime().maxMemory() / (double) (1L << 30));
    }

    @Override
    public void synchronize() {
        // every op has finished when it returns
    }

    // ---- host transfers -----------------------------------------------------------------

    @Override
    public void upload(float[] src, Tensor dst) {
        transfers.upload(src, dst);
    }

    @Override
    public void upload(double[] src, Tensor dst) {
        transfers.upload(src, dst);
    }

    @Override
    public void upload(int[] src, Tensor dst) {
        transfers.upload(src, dst);
    }

    @Override
    public void uploadImages(byte[] src, Tensor dst, ImageNormalization norm) {
        transfers.uploadImages(src, dst, norm);
        store(dst);
    }

    @Override
    public void download(Tensor src, float[] dst) {
        transfers.download(src, dst);
    }

    @Override
    public void download(Tensor src, double[] dst) {
        transfers.download(src, dst);
    }

    @Override
    public void download(Tensor src, int[] dst) {
        transfers.download(src, dst);
    }

    // ---- elementwise --------------------------------------------------------------------

    /** One contiguous run [start, start + len) of run {@code run} of a runnable tensor. */
    @FunctionalInterface
    interface RunBody {
        void run(int run, int start, int len);
    }

    /** Splits a contiguous or channel-slice tensor into per-sample runs, cut into chunks spread over threads. */
    void forRuns(Tensor t, RunBody body) {
        int runs = runs(t);
        int len = (int) (t.numel() / runs);
        int chunks = (len + CHUNK - 1) / CHUNK;
        par.run(runs * chunks, (task, wk) -> {
            int r = task / chunks, start = (task % chunks) * CHUNK;
            body.run(r, start, Math.min(CHUNK, len - start));
        });
    }

    /** 4-D tensors are walked per sample (a channel slice is packed only within a sample), others whole. */
    static int runs(Tensor t) {
        return t.rank() == 4 ? t.dim(0) : 1;
    }

    /** Array offset of run r of t (t as checked by {@link Checks#runnable}). */
    static int runOffset(Tensor t, int r) {
        return Math.toIntExact(t.offset() + (r == 0 ? 0 : r * t.stride(0)));
    }

    @Override
    public void fill(Tensor dst, double value) {
        own("fill", dst);
        runnable("fill", "dst", dst);
        forRuns(dst, (r, s, len) -> {
            int o = runOffset(dst, r) + s;
            switch (dst.dtype()) {
                case F32 -> Arrays.fill(f32(dst), o, o + len, (float) value);
                case F64 -> Arrays.fill(f64(dst), o, o + len, value);
                case I32 -> Arrays.fill(i32(dst), o, o + len, (int) value);
            }
        });
    }

    @Override
    public void copy(Tensor src, Tensor dst, boolean accumulate) {
        String op = "copy";
        own(op, src, dst);
        sameShape(op, "src", src, "dst", dst);
        floating(op, src, dst);
        runnable(op, "src", src);
        runnable(op, "dst", dst);
        forRuns(dst, (r, s, len) -> {
            int so = element(src, r, s), dOff = element(dst, r, s);
            if (src.dtype() == DType.F32) ElementwiseF32.copy(f32(src), so, f32(dst), dOff, len, accumulate);
            else ElementwiseF64.copy(f64(src), so, f64(dst), dOff, len, accumulate);
        });
        if (accumulate) store(dst); // a plain copy moves values that are already stored
    }

    /** Array index of element {@code start} of run r of t; operands of one op have equal shapes, hence equal runs. */
    private static int element(Tensor t, int r, int start) {
        return runOffset(t, r) + start;
    }

    @Override
    public void relu(Tensor x, Tensor y) {
        String op = "relu";
        own(op, x, y);
        sameShape(op, "x", x, "y", y);
        floating(op, x, y);
        runnable(op, "x", x);
        runnable(op, "y", y);
        forRuns(x, (r, s, len) -> {
            if (x.dtype() == DType.F32) ElementwiseF32.relu(f32(x), element(x, r, s), f32(y), element(y, r, s), len);
            else ElementwiseF64.relu(f64(x), element(x, r, s), f64(y), element(y, r, s), len);
        });
        store(y);
    }

    @Override
    public void reluBackward(Tensor y, Tensor dy, Tensor dx, boolean accumulate) {
        String op = "reluBackward";
        own(op, y, dy, dx);
        sameShape(op, "y", y, "dy", dy);
        sameShape(op, "y", y, "dx", dx);
        floating(op, y, dy, dx);
        for (Tensor t : new Tensor[] {y, dy, dx}) runnable(op, "operand", t);
        forRuns(dx, (r, s, len) -> {
            int yo = element(y, r, s), go = element(dy, r, s), xo = element(dx, r, s);
            if (y.dtype() == DType.F32) ElementwiseF32.reluBackward(f32(y), yo, f32(dy), go, f32(dx), xo, len, accumulate);
            else ElementwiseF64.reluBackward(f64(y), yo, f64(dy), go, f64(dx), xo, len, accumulate);
        });
        store(dx);
    }

    // ---- convolution, batch norm, pooling, linear and loss: checked and dispatched by CpuOps ----

    Parallel par() {
        return par;
    }

    Scratch scratch() {
        return scratch;
    }

    @Override
    public void convForward(Tensor x, Tensor w, Tensor y, Conv2d conv, boolean accumulate) {
        store(x); // images arrive in float32; every other input was stored by the op that wrote it, so this changes nothing
        Tensor w16 = weights(w);
        try {
            ops.convForward(x, w16, y, conv, accumulate);
        } finally {
            if (w16 != w) w16.close();
        }
        store(y);
    }

    @Override
    public void convBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2d conv, boolean accumulate) {
        Tensor w16 = weights(w);
        try {
            ops.convBackwardData(dy, w16, dx, conv, accumulate);
        } finally {
            if (w16 != w) w16.close();
        }
        store(dx);
    }

    /**
     * In 16 bits the gradient of this convolution is rounded once to BF16 or FP16 before it is written
     * (or added, in float32) into dw: cuDNN's legacy API computes a weight gradient in the type of its
     * inputs, so the GPU writes it in 16 bits and widens it into the float32 gradient buffer.
     */
    @Override
    public void convBackwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2d conv, boolean accumulate) {
        if (!precision.sixteenBit() || dw.dtype() != DType.F32) {
            ops.convBackwardFilter(x, dy, dw, conv, accumulate);
            return;
        }
        try (Tensor g = allocate(DType.F32, dw.shape())) {
            ops.convBackwardFilter(x, dy, g, conv, false);
            store(g);
            forRuns(dw, (r, st, len) -> ElementwiseF32.copy(f32(g), element(g, r, st), f32(dw), element(dw, r, st), len, accumulate));
        }
    }

    @Override
    public void batchNormStatistics(Tensor x, Tensor mean, Tensor var) {
        ops.batchNormStatistics(x, mean, var);
    }

    @Override
    public void batchNormUpdateRunning(Tensor mean, Tensor var, long count, double momentum, Tensor runningMean, Tensor runningVar) {
        ops.batchNormUpdateRunning(mean, var, count, momentum, runningMean, runningVar);
    }

    @Override
    public void batchNormApply(Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu, Tensor y) {
        ops.batchNormApply(x, mean, var, gamma, beta, eps, relu, y);
        store(y);
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu,
                                  Tensor dx, boolean accumulateDx, Tensor dgamma, Tensor dbeta) {
        ops.batchNormBackward(x, dy, mean, var, gamma, beta, eps, relu, dx, accumulateDx, dgamma, dbeta);
        store(dx);
    }

    @Override
    public void avgPoolForward(Tensor x, Tensor y, Pool2d pool) {
        ops.avgPoolForward(x, y, pool);
        store(y);
    }

    @Override
    public void avgPoolBackward(Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        ops.avgPoolBackward(dy, dx, pool, accumulate);
        store(dx);
    }

    @Override
    public void maxPoolForward(Tensor x, Tensor y, Pool2d pool) {
        ops.maxPoolForward(x, y, pool);
        store(y);
    }

    @Override
    public void maxPoolBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        ops.maxPoolBackward(x, y, dy, dx, pool, accumulate);
        store(dx);
    }

    @Override
    public void globalAvgPoolForward(Tensor x, Tensor y) {
        ops.globalAvgPoolForward(x, y);
    }

    @Override
    public void globalAvgPoolBackward(Tensor dy, Tensor dx, boolean accumulate) {
        ops.globalAvgPoolBackward(dy, dx, accumulate);
        store(dx);
    }

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor b, Tensor y) {
        ops.linearForward(x, w, b, y);
    }

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        ops.linearBackward(x, w, dy, dx, dw, db);
    }

    @Override
    public LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits) {
        return ops.softmaxCrossEntropy(logits, labels, dlogits);
    }

    @Override
    public void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed) {
        String op = "dropoutForward";
        own(op, x, y, mask);
        sameShape(op, "x", x, "y", y);
        sameShape(op, "x", x, "mask", mask);
        floating(op, x, y, mask);
        for (Tensor t : new Tensor[] {x, y, mask}) runnable(op, "operand", t);
        if (!(p >= 0 && p < 1)) throw fail(op, "drop probability must be in [0, 1), got " + p);
        long perRun = x.numel() / runs(x);
        forRuns(x, (r, s, len) -> {
            int xo = element(x, r, s), yo = element(y, r, s), mo = element(mask, r, s);
            long first = r * perRun + s;
            if (x.dtype() == DType.F32) ElementwiseF32.dropoutForward(f32(x), xo, f32(y), yo, f32(mask), mo, len, first, p, seed);
            else ElementwiseF64.dropoutForward(f64(x), xo, f64(y), yo, f64(mask), mo, len, first, p, seed);
        });
        store(y);
    }

    @Override
    public void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, Tensor seed) {
        dropoutForward(x, y, mask, p, seedOf("dropoutForward", seed));
    }

    /** The 64-bit seed an I32 [2] seed tensor holds, low word first. */
    private long seedOf(String op, Tensor seed) {
        own(op, seed);
        if (seed.dtype() != DType.I32 || seed.numel() != 2 || !seed.isContiguous()) {
            throw fail(op, "seed must be a contiguous I32 [2] tensor (low word first), got " + seed);
        }
        int[] w = i32(seed);
        int o = Math.toIntExact(seed.offset());
        return (w[o] & 0xFFFFFFFFL) | ((long) w[o + 1] << 32);
    }

    @Override
    public void dropoutBackward(Tensor dy, Tensor mask, Tensor dx, boolean accumulate) {
        String op = "dropoutBackward";
        own(op, dy, mask, dx);
        sameShape(op, "dy", dy, "mask", mask);
        sameShape(op, "dy", dy, "dx", dx);
        floating(op, dy, mask, dx);
        for (Tensor t : new Tensor[] {dy, mask, dx}) runnable(op, "operand", t);
        forRuns(dx, (r, s, len) -> {
            int go = element(dy, r, s), mo = element(mask, r, s), xo = element(dx, r, s);
            if (dy.dtype() == DType.F32) ElementwiseF32.multiply(f32(dy), go, f32(mask), mo, f32(dx), xo, len, accumulate);
            else ElementwiseF64.multiply(f64(dy), go, f64(mask), mo, f64(dx), xo, len, accumulate);
        });
        store(dx);
    }

    @Override
    public void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd) {
        sgdStep(params, grads, momentumBuffer, sgd, 1);
    }

    @Override
    public void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd, Tensor lr, Tensor scaler) {
        lossScaling.sgdStep(params, grads, momentumBuffer, sgd, lr, scaler);
    }

    @Override
    public void scaleLossGradient(Tensor dlogits, Tensor scaler) {
        lossScaling.scaleLossGradient(dlogits, scaler);
    }

    @Override
    public void checkGradientsAndUpdateScale(Tensor grads, Tensor scaler, LossScaling rule) {
        lossScaling.checkGradientsAndUpdateScale(grads, scaler, rule);
    }

    /** The SGD step with every gradient multiplied by {@code unscale} as it is read. */
    void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd, float unscale) {
        String op = "sgdStep";
        own(op, params, grads, momentumBuffer);
        floating(op, params, grads, momentumBuffer);
        for (Tensor t : new Tensor[] {params, grads, momentumBuffer}) {
            if (t.rank() != 1) throw fail(op, "params, grads and momentum buffer must be 1-D, got " + Arrays.toString(t.shape()));
            contiguous(op, "operand", t);
        }
        shape(op, "grads", grads, params.shape());
        shape(op, "momentum buffer", momentumBuffer, params.shape());
        forRuns(params, (r, s, len) -> {
            int po = element(params, r, s), go = element(grads, r, s), bo = element(momentumBuffer, r, s);
            if (params.dtype() == DType.F32) {
                ElementwiseF32.sgd(f32(params), po, f32(grads), go, f32(momentumBuffer), bo, len, sgd, unscale);
            } else {
                ElementwiseF64.sgd(f64(params), po, f64(grads), go, f64(momentumBuffer), bo, len, sgd, unscale);
            }
        });
    }

    @Override
    public void close() {
        par.close();
    }

    // ---- storage access -----------------------------------------------------------------

    /** Every tensor must live in an open storage of this backend. Null tensors are skipped. */
    void own(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t == null) continue;
            if (!(t.storage() instanceof CpuStorage s) || s.backend() != this) {
                throw fail(op, "tensor " + t + " belongs to another backend (" + t.backend().name() + ")");
            }
            if (s.isClosed()) throw fail(op, "tensor " + Arrays.toString(t.shape()) + " uses a closed storage");
        }
    }

    static float[] f32(Tensor t) {
        return ((CpuStorage) t.storage()).f32();
    }

    static double[] f64(Tensor t) {
        return ((CpuStorage) t.storage()).f64();
    }

    static int[] i32(Tensor t) {
        return ((CpuStorage) t.storage()).i32();
    }
}
