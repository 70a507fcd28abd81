package org.densenet.engine.cuda;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import jcuda.Pointer;
import org.densenet.engine.Backend;
import org.densenet.engine.CapturedGraph;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.Float16;
import org.densenet.engine.GraphCaptureException;
import org.densenet.engine.ImageNormalization;
import org.densenet.engine.LossResult;
import org.densenet.engine.LossScaling;
import org.densenet.engine.MemoryStats;
import org.densenet.engine.OpTimer;
import org.densenet.engine.PendingLoss;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Precision;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.ffm.CudaLibraries;
import org.densenet.engine.cuda.ffm.Cudnn.ConvOp;
import org.densenet.engine.cuda.ffm.LibraryLoader;
import org.densenet.engine.cuda.kernels.KernelLauncher;

/**
 * The GPU backend: float32 tensors in device memory from a caching allocator, every op queued on
 * one stream. Convolutions run in cuDNN, the linear layer in cuBLAS, fills and plain copies
 * through the driver's memset/memcpy, and everything else in the project's own kernels
 * ({@link KernelOps}).
 *
 * <p>TF32: off by default, so results match the CPU backend to float32 rounding. Opening with
 * TF32 allowed (the command line's {@code --tf32}, or the system property {@value #TF32_PROPERTY}=true
 * where no option is given) lets cuDNN and cuBLAS round matrix inputs to TF32 on Ampere and newer
 * GPUs: faster, about 1e-3 relative error.
 *
 * <p>BF16 and FP16 ({@link Precision#sixteenBit()}): activations and their gradients are allocated
 * by the model in {@link #activationDType()} (BF16 or F16) and every op over them runs in 16-bit
 * storage with float32 arithmetic: the kernels' _bf16/_f16 variants, cuDNN with 16-bit tensor and
 * filter descriptors (float accumulation, tensor-op math), in today's NCHW channel-slice layout.
 * Weights, weight gradients, batch-norm statistics and parameters, the classifier, the loss and the
 * optimizer stay float32; a convolution reads a 16-bit copy of its float32 weights, which the
 * backend keeps beside the weights' storage and which the SGD step rewrites in the same pass (any
 * other write into that storage, an upload, fill, copy or broadcast, rewrites its part too).
 * cuDNN's legacy API computes a weight gradient in its inputs' type, so a 16-bit convolution's
 * weight gradient is written in 16 bits to a scratch buffer and then added into the float32
 * gradient, as PyTorch's autocast does (the CPU twin rounds it the same way). Unverified on a GPU:
 * this path has run on the emulated device only.
 *
 * <p>CUDA graphs: on unless opened with them off (the command line's {@code --cuda-graphs off}, or
 * the system property {@value #GRAPHS_PROPERTY}=false where no option is given), {@link #capture}
 * records work through stream capture for replay as one launch per step.
 */
public final class CudaBackend implements Backend {
    public static final String TF32_PROPERTY = "densenet.cuda.tf32";
    public static final String GRAPHS_PROPERTY = "densenet.cuda.graphs";

    private final CudaContext ctx;
    private final DeviceAllocator allocator;
    private final Convolutions convolutions;
    private final Blas blas;
    private final KernelOps kernels;
    private final PinnedStaging staging;
    /** Device bytes that {@link #uploadImages} stages 8-bit images in. */
    private final GrowingBlock imageBytes;
    /** A 16-bit convolution's weight gradient before it is added into its float32 buffer. */
    private final GrowingBlock weightGrad16;
    private final String name;
    private final boolean tf32;
    private final Precision precision;
    private final boolean graphs;
    private final Map<String, String> versions;
    private boolean closed;
    /** The collectives' stream, once asked for. */
    private SideStream side;

    /** Opens GPU {@code ordinal} with the libraries {@link org.densenet.engine.Backends} has checked. */
    public static CudaBackend open(CudaLibraries.Driver driver, CudaLibraries.Toolkit toolkit, int ordinal, boolean allowTf32) {
        return open(driver, toolkit, ordinal, allowTf32, graphsByDefault());
    }

    /** As {@link #open(CudaLibraries.Driver, CudaLibraries.Toolkit, int, boolean)}, with CUDA graphs on or off. */
    public static CudaBackend open(CudaLibraries.Driver driver, CudaLibraries.Toolkit toolkit, int ordinal, boolean allowTf32,
                                   boolean graphs) {
        return open(driver, toolkit, ordinal, allowTf32 ? Precision.TF32 : Precision.FP32, graphs);
    }

    /** As {@link #open(CudaLibraries.Driver, CudaLibraries.Toolkit, int, boolean, boolean)}, computing in {@code precision}. */
    public static CudaBackend open(CudaLibraries.Driver driver, CudaLibraries.Toolkit toolkit, int ordinal, Precision precision,
                                   boolean graphs) {
        return new CudaBackend(driver, toolkit, ordinal, precision, graphs);
    }

    /** Graphs as the system property {@value #GRAPHS_PROPERTY} says: on unless it is "false". */
    public static boolean graphsByDefault() {
        return !"false".equalsIgnoreCase(System.getProperty(GRAPHS_PROPERTY));
    }

    /** Opens GPU {@code ordinal}, finding the libraries first; throws {@link CudaUnavailableException} with the reason when it cannot. */
    public static CudaBackend open(int ordinal, boolean allowTf32) {
        return open(ordinal, allowTf32, graphsByDefault());
    }

    /** As {@link #open(int, boolean)}, with CUDA graphs on or off. */
    public static CudaBackend open(int ordinal, boolean allowTf32, boolean graphs) {
        return open(ordinal, allowTf32 ? Precision.TF32 : Precision.FP32, graphs);
    }

    /** As {@link #open(int, boolean, boolean)}, computing in {@code precision}. */
    public static CudaBackend open(int ordinal, Precision precision, boolean graphs) {
        try {
            CudaLibraries.Driver driver = CudaLibraries.driver();
            CudaLibraries.Toolkit toolkit = CudaLibraries.toolkit();
            if (ordinal < 0 || ordinal >= driver.devices().size()) {
                throw new CudaUnavailableException("cuda:" + ordinal + " asked for, but the driver reports " + driver.devices().size() + " GPU(s)");
            }
            return new CudaBackend(driver, toolkit, ordinal, precision, graphs);
        } catch (LibraryLoader.NotLoadable e) {
            throw new CudaUnavailableException(e.getMessage());
        }
    }

    private CudaBackend(CudaLibraries.Driver driver, CudaLibraries.Toolkit toolkit, int ordinal, Precision precision, boolean graphs) {
        boolean allowTf32 = precision == Precision.TF32;
        this.precision = precision;
        this.tf32 = allowTf32;
        this.graphs = graphs;
        this.name = "cuda:" + ordinal + " " + driver.devices().get(ordinal).name();
        this.ctx = new CudaContext(ordinal, driver.api().library());
        DeviceAllocator alloc = null;
        Convolutions conv = null;
        Blas bl = null;
        try {
            alloc = new DeviceAllocator(new ContextMemory(ctx));
            conv = new Convolutions(toolkit.cudnn(), ctx, alloc, allowTf32);
            bl = new Blas(toolkit.cublas(), ctx, alloc, allowTf32);
            this.kernels = KernelOps.load(this, ctx, alloc, new KernelLauncher(driver.api().library()));
        } catch (RuntimeException | Error e) {
            if (bl != null) bl.close();
            if (conv != null) conv.close();
            if (alloc != null) alloc.close();
            ctx.close();
            throw e;
        }
        this.allocator = alloc;
        this.convolutions = conv;
        this.blas = bl;
        this.staging = new PinnedStaging(ctx);
        this.imageBytes = new GrowingBlock(alloc);
        this.weightGrad16 = new GrowingBlock(alloc);
        Map<String, String> v = new LinkedHashMap<>();
        v.put("device", driver.devices().get(ordinal).describe());
        v.put("driver", driver.describeVersion());
        v.put("libraries", toolkit.describe());
        v.put("library files", toolkit.cudnnWhere() + ", " + toolkit.cublasWhere());
        v.put("tf32", allowTf32 ? "allowed" : "off");
        if (precision.sixteenBit()) {
            v.put("precision", precision.label() + " (activations in " + activationDType() + ", float32 math, weights and optimizer;"
                    + " NCHW channel slices)");
        }
        v.put("cuda graphs", graphs ? "on" : "off");
        this.versions = java.util.Collections.unmodifiableMap(v);
    }

    @Override
    public String name() {
        return name;
    }

    public boolean tf32Allowed() {
        return tf32;
    }

    @Override
    public Precision precision() {
        return precision;
    }

    /** BF16 or F16 with a 16-bit precision, else F32. */
    @Override
    public DType activationDType() {
        return DType.activations(precision);
    }

    @Override
    public Map<String, String> versions() {
        return versions;
    }

    // ---- memory -------------------------------------------------------------------------

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        requireSupported(dtype, "allocate");
        ctx.bind();
        long n = Tensor.numel(shape);
        DeviceAllocator.Block block = allocator.allocate(n * dtype.bytes(), dtype + " tensor " + Arrays.toString(shape));
        try {
            return Tensor.owning(new CudaStorage(this, dtype, n, block), shape);
        } catch (RuntimeException e) {
            allocator.free(block);
            throw e;
        }
    }

    void release(DeviceAllocator.Block block) {
        if (!closed) allocator.free(block);
    }

    @Override
    public MemoryStats memoryStats() {
        return new MemoryStats(allocator.liveBytes(), allocator.peakLiveBytes());
    }

    @Override
    public void resetPeakMemory() {
        allocator.resetPeaks();
    }

    /** Free device memory plus what this process's allocator holds cached for reuse. */
    @Override
    public long availableMemoryBytes() {
        return ctx.freeBytes() + allocator.cachedBytes();
    }

    @Override
    public String memoryLimitNote() {
        return "free GPU memory; other processes on the GPU take from it";
    }

    /** Bytes held from the device, cached blocks included (what nvidia-smi sees, less the context itself). */
    public long reservedBytes() {
        return allocator.reservedBytes();
    }

    public long peakReservedBytes() {
        return allocator.peakReservedBytes();
    }

    @Override
    public void synchronize() {
        ctx.bind();
        ctx.synchronize("synchronize");
        if (side != null) side.synchronize("synchronize (the collectives' stream)");
    }

    CudaContext context() {
        return ctx;
    }

    /** The second stream for collectives ({@link SideStream}), made on first use. */
    SideStream sideStream() {
        ctx.bind();
        if (side == null) side = new SideStream(ctx);
        return side;
    }

    @Override
    public long waitedNanos() {
        return ctx.waitedNanos();
    }

    @Override
    public long kernelLaunches() {
        return kernels.launches();
    }

    @Override
    public OpTimer newTimer() {
        return new CudaTimer(ctx);
    }

    // ---- host transfers -----------------------------------------------------------------

    /** Into a 16-bit tensor the values are rounded to nearest even on the host first ({@link Float16}). */
    @Override
    public void upload(float[] src, Tensor dst) {
        if (dst != null && dst.dtype().isSixteenBit()) {
            uploadAsync("upload", dst, dst.dtype(), src.length, MemorySegment.ofArray(Float16.toBits(src, dst.dtype() == DType.BF16)));
            return;
        }
        uploadAsync("upload", dst, DType.F32, src.length, MemorySegment.ofArray(src));
        written(dst);
    }

    @Override
    public void upload(double[] src, Tensor dst) {
        requireSupported(DType.F64, "upload");
    }

    @Override
    public void upload(int[] src, Tensor dst) {
        uploadAsync("upload", dst, DType.I32, src.length, MemorySegment.ofArray(src));
    }

    /**
     * The bytes go through the staging buffers into a device byte buffer kept for the purpose
     * (grown to the largest batch), and the augment kernel normalises them into dst; stream order
     * keeps the next upload into that buffer behind the kernel that reads it.
     */
    @Override
    public void uploadImages(byte[] src, Tensor dst, ImageNormalization norm) {
        String op = "uploadImages";
        storage(op, "dst", dst);
        Backend.checkImageBatch(op, src.length, dst, norm);
        long n = dst.numel();
        ctx.bind();
        long bytes = imageBytes.atLeast(n, () -> "the 8-bit image upload buffer").address();
        staging.upload(MemorySegment.ofArray(src), bytes, n, n, 1, op);
        kernels.normalizeImages(bytes, dst, norm);   // float32 or 16 bits, as dst is
    }

    /** From a 16-bit tensor the values are widened exactly on the host. */
    @Override
    public void download(Tensor src, float[] dst) {
        if (src != null && src.dtype().isSixteenBit()) {
            short[] bits = new short[dst.length];
            download("download", src, src.dtype(), dst.length, Pointer.to(bits));
            Float16.fromBits(bits, src.dtype() == DType.BF16, dst);
            return;
        }
        download("download", src, DType.F32, dst.length, Pointer.to(dst));
    }

    @Override
    public void download(Tensor src, double[] dst) {
        requireSupported(DType.F64, "download");
    }

    @Override
    public void download(Tensor src, int[] dst) {
        download("download", src, DType.I32, dst.length, Pointer.to(dst));
    }

    /**
     * Queues the copy of a dense host array into a device tensor, one row at a time for channel
     * slices, through page-locked staging ({@link PinnedStaging}): stream order keeps it behind the
     * queued ops that still read the tensor, so nothing waits for the GPU, and the array may be
     * reused when this returns.
     */
    private void uploadAsync(String op, Tensor t, DType dtype, int hostLength, MemorySegment host) {
        CudaStorage s = checkTransfer(op, t, dtype, hostLength);
        TensorLayout.Rows rows = TensorLayout.rows(t, false, op, "tensor");
        long bytes = dtype.bytes();
        ctx.bind();
        staging.upload(host, s.address() + t.offset() * bytes, rows.pitch() * bytes, rows.rowElements() * bytes, rows.rows(), op);
    }

    /** Copies a device tensor into a dense host array, one row at a time for channel slices, after every queued op. */
    private void download(String op, Tensor t, DType dtype, int hostLength, Pointer host) {
        CudaStorage s = checkTransfer(op, t, dtype, hostLength);
        TensorLayout.Rows rows = TensorLayout.rows(t, false, op, "tensor");
        int bytes = dtype.bytes();
        long rowBytes = rows.rowElements() * bytes;
        ctx.bind();
        ctx.synchronize(op);
        for (long r = 0; r < rows.rows(); r++) {
            var device = s.pointer((t.offset() + r * rows.pitch()) * bytes);
            Pointer h = r == 0 ? host : host.withByteOffset(r * rowBytes);
            ctx.download(device, h, rowBytes, op);
        }
    }

    private CudaStorage checkTransfer(String op, Tensor t, DType dtype, int hostLength) {
        CudaStorage s = storage(op, "tensor", t);
        if (t.dtype() != dtype) throw new IllegalArgumentException(op + ": tensor is " + t.dtype() + ", the host array " + dtype);
        if (hostLength != t.numel()) {
            throw new IllegalArgumentException(op + ": host array has " + hostLength + " elements, tensor " + Arrays.toString(t.shape())
                    + " has " + t.numel());
        }
        return s;
    }

    // ---- elementwise --------------------------------------------------------------------

    /** A 16-bit tensor gets (float) value rounded once to nearest even, through the fill kernel of its type. */
    @Override
    public void fill(Tensor dst, double value) {
        CudaStorage s = storage("fill", "dst", dst);
        TensorLayout.Rows rows = TensorLayout.rows(dst, false, "fill", "dst");
        ctx.bind();
        if (dst.dtype().isSixteenBit()) {
            kernels.fill(dst, (float) value);
            return;
        }
        int bits = dst.dtype() == DType.I32 ? (int) value : Float.floatToRawIntBits((float) value);
        ctx.fill32(s.address() + dst.offset() * 4, rows.pitch() * 4, rows.rowElements(), rows.rows(), bits, "fill");
        written(dst);
    }

    @Override
    public void copy(Tensor src, Tensor dst, boolean accumulate) {
        String op = accumulate ? "copy (accumulate)" : "copy";
        CudaStorage s = storage(op, "src", src);
        CudaStorage d = storage(op, "dst", dst);
        sameShape(op, "src", src, "dst", dst);
        requireFloat(op, src, dst);
        ctx.bind();
        if (accumulate || src.dtype() != dst.dtype()) {
            kernels.copy(src, dst, accumulate);   // converting between float32 and 16 bits when the types differ
        } else {
            long b = dst.dtype().bytes();
            TensorLayout.Rows sr = TensorLayout.rows(src, true, op, "src");
            TensorLayout.Rows dr = TensorLayout.rows(dst, true, op, "dst");
            ctx.copy2d(s.address() + src.offset() * b, sr.pitch() * b, d.address() + dst.offset() * b, dr.pitch() * b,
                    dr.rowElements() * b, dr.rows(), op);
        }
        written(dst);
    }

    @Override
    public void relu(Tensor x, Tensor y) {
        ctx.bind();
        kernels.relu(x, y);
    }

    @Override
    public void reluBackward(Tensor y, Tensor dy, Tensor dx, boolean accumulate) {
        ctx.bind();
        kernels.reluBackward(y, dy, dx, accumulate);
    }

    // ---- convolution --------------------------------------------------------------------

    @Override
    public void convForward(Tensor x, Tensor w, Tensor y, Conv2d conv, boolean accumulate) {
        convolve(ConvOp.FORWARD, x, w, y, y, conv, accumulate);
    }

    @Override
    public void convBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2d conv, boolean accumulate) {
        convolve(ConvOp.BACKWARD_DATA, dx, w, dy, dx, conv, accumulate);
    }

    @Override
    public void convBackwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2d conv, boolean accumulate) {
        convolve(ConvOp.BACKWARD_FILTER, x, dw, dy, dw, conv, accumulate);
    }

    /**
     * in [N, C, H, W], filter [K, C, R, S], out [N, K, P, Q]; written is whichever of them the pass
     * produces. The call runs in the activations' type; with 16-bit activations a float32 filter is
     * read through its 16-bit copy, and a float32 weight gradient is computed in 16 bits into a
     * scratch buffer (cuDNN's legacy API takes one type for all three) and then added into it.
     */
    private void convolve(ConvOp op, Tensor in, Tensor filter, Tensor out, Tensor written, Conv2d conv, boolean accumulate) {
        CudaStorage si = storage(op.label, "input", in);
        CudaStorage sf = storage(op.label, "filter", filter);
        CudaStorage so = storage(op.label, "output", out);
        requireFloat(op.label, in, filter, out);
        DType type = in.dtype();
        if (out.dtype() != type) throw new IllegalArgumentException(op.label + ": input " + in + " and output " + out + " differ in type");
        boolean widen = type.isSixteenBit() && filter.dtype() == DType.F32;
        if (!widen && filter.dtype() != type) {
            throw new IllegalArgumentException(op.label + ": the filter " + filter + " must be float32 or of the activations' type " + type);
        }
        ctx.bind();
        long inAddr = TensorLayout.address(si.address(), in);
        long outAddr = TensorLayout.address(so.address(), out);
        long filterAddr;
        if (!widen) {
            filterAddr = TensorLayout.address(sf.address(), filter);
        } else if (op != ConvOp.BACKWARD_FILTER) {
            filterAddr = copy16(sf, type) + filter.offset() * type.bytes();
        } else {
            filterAddr = weightGrad16.atLeast(filter.numel() * type.bytes(), () -> "a 16-bit weight gradient").address();
        }
        ConvKey key = ConvKey.of(op, in, filter, out, conv, inAddr, filterAddr, outAddr, type);
        if (widen && op == ConvOp.BACKWARD_FILTER) {
            convolutions.run(key, inAddr, filterAddr, outAddr, false, () -> null);
            kernels.addWidened(filterAddr, type, filter, accumulate);
            written(filter);
            return;
        }
        convolutions.run(key, inAddr, filterAddr, outAddr, accumulate, () -> preserve(written));
    }

    /**
     * The 16-bit copy (of {@code type}) of a float32 storage's elements, made and filled the first
     * time a convolution reads the storage as weights in 16 bits, and kept equal to the float32
     * values rounded once by every later write ({@link #written}); returns its device address.
     */
    private long copy16(CudaStorage s, DType type) {
        if (s.copy16() == null || s.copy16Type() != type) {
            DeviceAllocator.Block block = allocator.allocate(s.elements() * type.bytes(), "the " + type + " copy of " + s.elements() + " weights");
            s.attachCopy16(block, type);
            kernels.convert(s.address(), block.address(), s.elements(), type);
        }
        return s.copy16().address();
    }

    /**
     * Brings the 16-bit copy of t's storage, if it has one, up to date with what an op just wrote
     * into t (float32 values rounded once): for every write into weights that is not the SGD step,
     * which writes its copy itself, and for libraries that write device memory (NCCL's broadcast).
     */
    void written(Tensor t) {
        if (t == null || t.dtype() != DType.F32 || !(t.storage() instanceof CudaStorage s) || s.copy16() == null) return;
        kernels.refreshCopy16(t, s.address(), s.copy16().address(), s.copy16Type());
    }

    /** A copy of t, put back (and freed) on close. */
    private AutoCloseable preserve(Tensor t) {
        Tensor saved = allocate(t.dtype(), t.shape());
        copy(t, saved, false);
        return () -> {
            copy(saved, t, false);
            saved.close();
        };
    }

    // ---- batch normalisation --------------------------------------------------------------

    @Override
    public void batchNormStatistics(Tensor x, Tensor mean, Tensor var) {
        ctx.bind();
        kernels.batchNormStatistics(x, mean, var);
    }

    /**
     * From now on, training-mode batch norm ({@link #batchNormStatistics}, {@link #batchNormApplyTraining},
     * {@link #batchNormBackward}) normalises with the statistics of every data-parallel replica's batch,
     * reduced through {@code replicas} (PyTorch's SyncBatchNorm; every replica's batch must have the same
     * shape, as the distributed sampler gives them); null goes back to this device's batch alone.
     * {@link #batchNormUpdateRunning} and inference are unchanged.
     */
    public void synchronizeBatchNorm(org.densenet.engine.cuda.kernels.ReplicaSums replicas) {
        kernels.synchronizeBatchNorm(replicas);
    }

    @Override
    public void batchNormUpdateRunning(Tensor mean, Tensor var, long count, double momentum, Tensor runningMean, Tensor runningVar) {
        ctx.bind();
        kernels.batchNormUpdateRunning(mean, var, count, momentum, runningMean, runningVar);
    }

    @Override
    public void batchNormApply(Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu, Tensor y) {
        ctx.bind();
        kernels.batchNormApply(x, mean, var, gamma, beta, eps, relu, y);
    }

    @Override
    public void batchNormApplyTraining(Tensor x, Tensor mean, Tensor var, boolean statsReady, Tensor gamma, Tensor beta, double eps,
                                       boolean relu, Tensor y, double momentum, Tensor runningMean, Tensor runningVar) {
        ctx.bind();
        kernels.batchNormApplyTraining(x, mean, var, statsReady, gamma, beta, eps, relu, y, momentum, runningMean, runningVar);
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps,
                                  boolean relu, Tensor dx, boolean accumulateDx, Tensor dgamma, Tensor dbeta) {
        ctx.bind();
        kernels.batchNormBackward(x, dy, mean, var, gamma, beta, eps, relu, dx, accumulateDx, dgamma, dbeta);
    }

    // ---- pooling ------------------------------------------------------------------------

    @Override
    public void avgPoolForward(Tensor x, Tensor y, Pool2d pool) {
        ctx.bind();
        kernels.avgPoolForward(x, y, pool);
    }

    @Override
    public void avgPoolBackward(Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        ctx.bind();
        kernels.avgPoolBackward(dy, dx, pool, accumulate);
    }

    @Override
    public void maxPoolForward(Tensor x, Tensor y, Pool2d pool) {
        ctx.bind();
        kernels.maxPoolForward(x, y, pool);
    }

    @Override
    public void maxPoolBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        ctx.bind();
        kernels.maxPoolBackward(x, y, dy, dx, pool, accumulate);
    }

    @Override
    public void globalAvgPoolForward(Tensor x, Tensor y) {
        ctx.bind();
        kernels.globalAvgPoolForward(x, y);
    }

    @Override
    public void globalAvgPoolBackward(Tensor dy, Tensor dx, boolean accumulate) {
        ctx.bind();
        kernels.globalAvgPoolBackward(dy, dx, accumulate);
    }

    // ---- fully connected ----------------------------------------------------------------

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor b, Tensor y) {
        String op = "linear forward";
        int[] d = linearShapes(op, x, w, y, "y");
        CudaStorage sb = storage(op, "b", b);
        requireShape(op, "b", b, d[2]);
        ctx.bind();
        blas.linearForward(address(op, "x", x), address(op, "w", w), TensorLayout.address(sb.address(), b), address(op, "y", y),
                d[0], d[1], d[2]);
    }

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        String op = "linear backward";
        int[] d = linearShapes(op, x, w, dy, "dy");
        int n = d[0], f = d[1], o = d[2];
        if (dx != null) requireShape(op, "dx", dx, n, f);
        requireShape(op, "dw", dw, o, f);
        requireShape(op, "db", db, o);
        long dxAddr = dx == null ? 0 : address(op, "dx", dx);
        ctx.bind();
        blas.linearBackward(address(op, "x", x), address(op, "w", w), address(op, "dy", dy), dxAddr, address(op, "dw", dw),
                address(op, "db", db), n, f, o);
    }

    /** {N, F, O} of x [N, F], w [O, F], out [N, O], all contiguous float32. */
    private static int[] linearShapes(String op, Tensor x, Tensor w, Tensor out, String outName) {
        if (x == null || w == null || x.rank() != 2 || w.rank() != 2) {
            throw new IllegalArgumentException(op + ": x must be [N, F] and w [O, F], got " + x + " and " + w);
        }
        int n = x.dim(0), f = x.dim(1), o = w.dim(0);
        requireShape(op, "x", x, n, f);
        requireShape(op, "w", w, o, f);
        requireShape(op, outName, out, n, o);
        return new int[] {n, f, o};
    }

    // ---- loss, dropout, optimiser -------------------------------------------------------

    @Override
    public LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits) {
        return softmaxCrossEntropyAsync(logits, labels, dlogits).get();
    }

    @Override
    public PendingLoss softmaxCrossEntropyAsync(Tensor logits, Tensor labels, Tensor dlogits) {
        ctx.bind();
        return kernels.softmaxCrossEntropyAsync(logits, labels, dlogits);
    }

    @Override
    public void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed) {
        ctx.bind();
        ctx.refuseWhileCapturing("dropout with its seed given by value (every replay would draw the same mask; pass it in a tensor)");
        kernels.dropoutForward(x, y, mask, p, seed);
    }

    @Override
    public void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, Tensor seed) {
        ctx.bind();
        kernels.dropoutForward(x, y, mask, p, seed);
    }

    @Override
    public void dropoutBackward(Tensor dy, Tensor mask, Tensor dx, boolean accumulate) {
        ctx.bind();
        kernels.dropoutBackward(dy, mask, dx, accumulate);
    }

    @Override
    public void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd) {
        ctx.bind();
        kernels.sgdStep(params, grads, momentumBuffer, sgd, copy16Of(params));
    }

    /** The 16-bit copy at params' first element, for the SGD step to rewrite in its pass, or null when params has none. */
    private KernelOps.Copy16 copy16Of(Tensor params) {
        if (params == null || !(params.storage() instanceof CudaStorage s) || s.copy16() == null) return null;
        return new KernelOps.Copy16(s.copy16().address() + params.offset() * s.copy16Type().bytes(), s.copy16Type());
    }

    @Override
    public void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd, Tensor lr) {
        sgdStep(params, grads, momentumBuffer, sgd, lr, null);
    }

    @Override
    public void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd, Tensor lr, Tensor scaler) {
        ctx.bind();
        kernels.sgdStep(params, grads, momentumBuffer, sgd, lr, scaler, copy16Of(params));
    }

    @Override
    public void scaleLossGradient(Tensor dlogits, Tensor scaler) {
        ctx.bind();
        kernels.scaleLossGradient(dlogits, scaler);
    }

    @Override
    public void checkGradientsAndUpdateScale(Tensor grads, Tensor scaler, LossScaling rule) {
        ctx.bind();
        kernels.checkGradientsAndUpdateScale(grads, scaler, rule);
    }

    // ---- graphs -------------------------------------------------------------------------

    @Override
    public boolean capturesGraphs() {
        return graphs;
    }

    /**
     * Stream capture of everything {@code work} queues: every op of the backend is queued on the
     * one stream, or on the collectives' stream, which joins the capture through an event wait and
     * rejoins the backend's stream before the capture ends, so the capture holds them all
     * ({@link CudaGraph#capture}); NCCL's collectives too ({@link GradientAllReduce}).
     */
    @Override
    public CapturedGraph capture(Runnable work) {
        if (!graphs) throw new GraphCaptureException("CUDA graphs are off");
        ctx.bind();
        return CudaGraph.capture(ctx, allocator, kernels, work);
    }

    // ---- checks -------------------------------------------------------------------------

    /** The storage of a tensor of this backend, open and of a type this backend computes in. */
    CudaStorage storage(String op, String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!(t.storage() instanceof CudaStorage s) || s.backend() != this) {
            throw new IllegalArgumentException(op + ": " + name + " lives on " + t.backend().name() + ", not on " + name());
        }
        if (s.isClosed()) throw new IllegalStateException(op + ": " + name + " " + t + " was closed");
        requireSupported(t.dtype(), op);
        return s;
    }

    /** Throws {@link GraphCaptureException} while a capture runs: {@code what} cannot be part of one. */
    void refuseWhileCapturing(String what) {
        ctx.refuseWhileCapturing(what);
    }

    /** Whether a capture is under way (on this backend's thread, the only one that queues its work). */
    boolean capturing() {
        return ctx.capturing();
    }

    /** The capture under way holds collectives: its graph replays under {@code watch} (no effect outside a capture). */
    void watchReplays(ReplayWatch watch) {
        ctx.watchReplays(watch);
    }

    /** The stream every op of this backend is queued on, for libraries that queue work beside them (NCCL). */
    long streamAddress() {
        return ctx.streamAddress();
    }

    /** Device address of a contiguous float32 tensor's first element. */
    long address(String op, String name, Tensor t) {
        CudaStorage s = storage(op, name, t);
        return TensorLayout.address(s.address(), t);
    }

    private static void requireSupported(DType dtype, String op) {
        if (dtype == DType.F64) {
            throw new UnsupportedOperationException(op + ": the CUDA backend computes in float32 (F32, BF16 and F16 storage, and I32"
                    + " labels); F64 tensors exist only on the CPU backend, for gradient checks");
        }
    }

    /** Float32 or 16-bit storage. */
    private static void requireFloat(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t.dtype() != DType.F32 && !t.dtype().isSixteenBit()) throw new IllegalArgumentException(op + ": needs float tensors, got " + t);
        }
    }

    private static void sameShape(String op, String an, Tensor a, String bn, Tensor b) {
        if (!a.sameShape(b)) {
            throw new IllegalArgumentException(op + ": " + an + " " + Arrays.toString(a.shape()) + " and " + bn + " "
                    + Arrays.toString(b.shape()) + " differ in shape");
        }
    }

    /** A contiguous float32 tensor of exactly this shape. */
    private static void requireShape(String op, String name, Tensor t, int... shape) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!Arrays.equals(t.shape(), shape) || !t.isContiguous() || t.dtype() != DType.F32) {
            throw new IllegalArgumentException(op + ": " + name + " must be a contiguous float32 " + Arrays.toString(shape) + ", got " + t);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        ctx.bind();
        try {
            ctx.synchronize("closing " + name);
            if (side != null) side.close();
            staging.close();
            imageBytes.close();
            weightGrad16.close();
            kernels.close();
            convolutions.close();
            blas.close();
            allocator.close();
        } finally {
            closed = true;
            ctx.close();
        }
    }
}
