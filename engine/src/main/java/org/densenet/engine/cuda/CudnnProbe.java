package org.densenet.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.densenet.engine.cuda.ffm.CudaLibraries;
import org.densenet.engine.cuda.ffm.Cudnn;
import org.densenet.engine.cuda.ffm.Cudnn.ConvOp;
import org.densenet.engine.cuda.ffm.LibraryLoader;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * What cuDNN's legacy convolution API does with a network's convolutions in 16 bits, measured on
 * the GPU before the 16-bit layout is chosen: for each problem, pass and {@link Variant} (data
 * type, NCHW or NHWC, packed or as channel slices of a larger storage), the algorithms its
 * heuristics offer (cudnnGetConvolution*Algorithm_v7) and what cudnnFindConvolution*AlgorithmEx
 * measures of each on real buffers. Refusals are results: a descriptor cuDNN will not take, a
 * call that fails, an algorithm with a status other than success are all recorded, not thrown.
 * cuDNN's graph (backend) API is not bound by this engine, so its engines are not probed.
 */
public final class CudnnProbe implements AutoCloseable {
    /** Most workspace one search may use, and at most a quarter of what is free. */
    private static final long WORKSPACE_CAP = 1L << 30;

    /** Element types, with a 32-bit fill word of 0.0625 in each: a backward-filter sum over 64x56x56 products stays finite in FP16. */
    public enum DataType {
        FP32("fp32", Cudnn.DATA_FLOAT, 4, 0x3D800000),
        FP16("fp16", Cudnn.DATA_HALF, 2, 0x2C002C00),
        BF16("bf16", Cudnn.DATA_BFLOAT16, 2, 0x3D803D80);

        public final String label;
        final int cudnn;
        final int bytes;
        final int fill;

        DataType(String label, int cudnn, int bytes, int fill) {
            this.label = label;
            this.cudnn = cudnn;
            this.bytes = bytes;
            this.fill = fill;
        }
    }

    public enum Layout { NCHW, NHWC }

    /** How one problem is put to cuDNN; {@code slice}: x and y as channel slices of their storages. */
    public record Variant(DataType type, Layout layout, boolean slice) {
        public String label() {
            return type.label + " " + layout + " " + (slice ? "slice" : "packed");
        }
    }

    /** FP32 as the engine runs it now (NCHW, float32 math) first: the baseline of every 16-bit time. */
    public static final List<Variant> VARIANTS = List.of(
            new Variant(DataType.FP32, Layout.NCHW, false), new Variant(DataType.FP32, Layout.NCHW, true),
            new Variant(DataType.FP16, Layout.NCHW, false), new Variant(DataType.FP16, Layout.NCHW, true),
            new Variant(DataType.FP16, Layout.NHWC, false), new Variant(DataType.FP16, Layout.NHWC, true),
            new Variant(DataType.BF16, Layout.NCHW, false), new Variant(DataType.BF16, Layout.NCHW, true),
            new Variant(DataType.BF16, Layout.NHWC, false), new Variant(DataType.BF16, Layout.NHWC, true));

    /** One algorithm's entry: its status (0 success) and cuDNN's name for it, time (ms; negative when not measured), workspace, math type. */
    public record Algo(int algo, int status, String statusText, float ms, long workspaceBytes, int mathType) {
        public boolean ok() {
            return status == Cudnn.STATUS_SUCCESS;
        }
    }

    /**
     * One pass of one problem in one variant. {@code refused}: why no algorithm list could be had
     * (a descriptor or a call cuDNN refused), else null.
     */
    public record Result(ConvProblem problem, ConvOp op, Variant variant, String refused, List<Algo> heuristic, List<Algo> found) {
        /** The fastest successful time Find measured, NaN when none succeeded. */
        public double bestMs() {
            double best = Double.NaN;
            for (Algo a : found) if (a.ok() && a.ms() >= 0 && !(a.ms() >= best)) best = a.ms();
            return best;
        }

        public Algo fastest() {
            Algo best = null;
            for (Algo a : found) if (a.ok() && a.ms() >= 0 && (best == null || a.ms() < best.ms())) best = a;
            return best;
        }
    }

    /** Everything probed, what the time budget left out, and the seconds it took. */
    public record Outcome(List<Result> results, List<ConvProblem> notProbed, double seconds) {
    }

    private final Cudnn cudnn;
    private final DeviceQueue device;
    private final DeviceAllocator allocator;
    private final MemorySegment handle;
    private final Runnable onClose;
    private final String deviceName;
    private final Map<String, String> versions;

    CudnnProbe(Cudnn cudnn, DeviceQueue device, DeviceAllocator.RawMemory memory, Runnable onClose, String deviceName,
               Map<String, String> versions) {
        this.cudnn = cudnn;
        this.device = device;
        this.allocator = new DeviceAllocator(memory);
        this.onClose = onClose;
        this.deviceName = deviceName;
        this.versions = Map.copyOf(versions);
        this.handle = cudnn.createHandle();
        cudnn.setStream(handle, device.streamAddress());
    }

    /** Opens GPU {@code ordinal} for probing; {@link CudaUnavailableException} with the reason when it cannot. */
    public static CudnnProbe open(int ordinal) {
        CudaLibraries.Driver driver;
        CudaLibraries.Toolkit toolkit;
        try {
            driver = CudaLibraries.driver();
            toolkit = CudaLibraries.toolkit();
        } catch (LibraryLoader.NotLoadable e) {
            throw new CudaUnavailableException(e.getMessage());
        }
        if (ordinal < 0 || ordinal >= driver.devices().size()) {
            throw new CudaUnavailableException("cuda:" + ordinal + " asked for, but the driver reports " + driver.devices().size() + " GPU(s)");
        }
        CudaContext ctx = new CudaContext(ordinal, driver.api().library());
        Map<String, String> v = new LinkedHashMap<>();
        v.put("device", driver.devices().get(ordinal).describe());
        v.put("driver", driver.describeVersion());
        v.put("libraries", toolkit.describe());
        try {
            return new CudnnProbe(toolkit.cudnn(), ctx, new ContextMemory(ctx), ctx::close,
                    "cuda:" + ordinal + " " + driver.devices().get(ordinal).name(), v);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }

    public String deviceName() {
        return deviceName;
    }

    public Map<String, String> versions() {
        return versions;
    }

    /**
     * Probes the problems in order until {@code budgetNanos} have passed; the rest are returned as not
     * probed. {@code progress} hears one line per problem.
     */
    public Outcome run(List<ConvProblem> problems, long budgetNanos, Consumer<String> progress) {
        long start = System.nanoTime();
        List<Result> results = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            if (System.nanoTime() - start > budgetNanos) {
                return new Outcome(results, List.copyOf(problems.subList(i, problems.size())), (System.nanoTime() - start) / 1e9);
            }
            ConvProblem p = problems.get(i);
            progress.accept((i + 1) + "/" + problems.size() + " " + p.label() + ": " + p.shape());
            probe(p, results);
        }
        return new Outcome(results, List.of(), (System.nanoTime() - start) / 1e9);
    }

    private void probe(ConvProblem p, List<Result> out) {
        // room for the widest type; the packed forms use the start of the same buffers
        long inBytes = 4L * p.n() * p.inStorageChannels() * p.h() * p.w();
        long outBytes = 4L * p.n() * p.outStorageChannels() * p.p() * p.q();
        long filterBytes = 4L * p.k() * p.c() * p.r() * p.s();
        DeviceAllocator.Block in = allocator.allocate(inBytes, "the probe's x for " + p.label());
        DeviceAllocator.Block y = null, filter = null;
        try {
            y = allocator.allocate(outBytes, "the probe's y for " + p.label());
            filter = allocator.allocate(filterBytes, "the probe's filter for " + p.label());
            for (Variant v : VARIANTS) {
                if (v.slice() && !p.isSlice()) continue;
                ConvProblem q = v.slice() ? p : p.asPacked();
                device.fill32(in, inBytes / 4, v.type().fill, "filling the probe's x");
                device.fill32(y, outBytes / 4, v.type().fill, "filling the probe's y");
                device.fill32(filter, filterBytes / 4, v.type().fill, "filling the probe's filter");
                probe(q, v, in.address(), filter.address(), y.address(), out);
            }
        } finally {
            allocator.free(in);
            if (y != null) allocator.free(y);
            if (filter != null) allocator.free(filter);
            allocator.emptyCache();
        }
    }

    /** The three passes of one variant, sharing its descriptors. */
    private void probe(ConvProblem p, Variant v, long inBase, long filter, long outBase, List<Result> out) {
        String what = p.label() + " " + v.label();
        try (Descriptors d = new Descriptors(cudnn)) {
            String refused = d.set(p, v, what);
            int bytes = v.type().bytes;
            long in = inBase + (long) bytes * p.inChannelOffset() * (v.layout() == Layout.NCHW ? (long) p.h() * p.w() : 1);
            long y = outBase + (long) bytes * p.outChannelOffset() * (v.layout() == Layout.NCHW ? (long) p.p() * p.q() : 1);
            for (ConvOp op : ConvOp.values()) {
                if (refused != null) {
                    out.add(new Result(p, op, v, refused, List.of(), List.of()));
                    continue;
                }
                out.add(switch (op) {
                    case FORWARD -> probe(p, op, v, d.in, in, d.filter, filter, d.conv, d.out, y, what);
                    case BACKWARD_DATA -> probe(p, op, v, d.filter, filter, d.out, y, d.conv, d.in, in, what);
                    case BACKWARD_FILTER -> probe(p, op, v, d.in, in, d.out, y, d.conv, d.filter, filter, what);
                });
            }
        }
    }

    /** One pass, in cuDNN's argument order: (a, b) -> res. */
    private Result probe(ConvProblem p, ConvOp op, Variant v, MemorySegment aDesc, long a, MemorySegment bDesc, long b,
                         MemorySegment convDesc, MemorySegment resDesc, long res, String what) {
        List<Algo> heuristic;
        try (Arena local = Arena.ofConfined()) {
            int count = cudnn.algorithmCount(handle, op);
            MemorySegment perf = local.allocate(Cudnn.ALGO_PERF, count);
            heuristic = read(perf, cudnn.heuristic(handle, op, aDesc, bDesc, convDesc, resDesc, perf, what));
            long need = 0;
            for (int algo = 0; algo < count; algo++) {
                need = Math.max(need, cudnn.workspaceSizeOrMinusOne(handle, op, aDesc, bDesc, convDesc, resDesc, algo));
            }
            long wsBytes = Math.min(need, Math.min(WORKSPACE_CAP, device.freeBytes() / 4));
            DeviceAllocator.Block ws = null;
            try {
                if (wsBytes > 0) ws = allocator.allocate(wsBytes, "the probe's workspace");
            } catch (CudaOutOfMemoryException e) {
                wsBytes = 0;
            }
            try {
                MemorySegment found = local.allocate(Cudnn.ALGO_PERF, count);
                int n = cudnn.find(handle, op, aDesc, a, bDesc, b, convDesc, resDesc, res, found, ws == null ? 0 : ws.address(), wsBytes, what);
                return new Result(p, op, v, null, heuristic, read(found, n));
            } catch (CudaException e) {
                return new Result(p, op, v, e.getMessage(), heuristic, List.of());
            } finally {
                if (ws != null) allocator.free(ws);
            }
        } catch (CudaException e) {
            return new Result(p, op, v, e.getMessage(), List.of(), List.of());
        }
    }

    private List<Algo> read(MemorySegment perf, int n) {
        List<Algo> algos = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long at = i * Cudnn.ALGO_PERF.byteSize();
            int status = perf.get(JAVA_INT, at + Cudnn.PERF_STATUS);
            algos.add(new Algo(perf.get(JAVA_INT, at + Cudnn.PERF_ALGO), status, cudnn.statusName(status),
                    perf.get(JAVA_FLOAT, at + Cudnn.PERF_TIME), perf.get(JAVA_LONG, at + Cudnn.PERF_MEMORY),
                    perf.get(JAVA_INT, at + Cudnn.PERF_MATH_TYPE)));
        }
        return List.copyOf(algos);
    }

    @Override
    public void close() {
        try {
            cudnn.destroyHandle(handle);
            allocator.close();
        } finally {
            onClose.run();
        }
    }

    /** The four descriptors of one variant, destroyed together. */
    private static final class Descriptors implements AutoCloseable {
        private final Cudnn cudnn;
        private final List<Runnable> destroy = new ArrayList<>();
        MemorySegment in;
        MemorySegment out;
        MemorySegment filter;
        MemorySegment conv;

        Descriptors(Cudnn cudnn) {
            this.cudnn = cudnn;
        }

        /** Creates and sets them; returns cuDNN's refusal, or null when all were accepted. */
        String set(ConvProblem p, Variant v, String what) {
            try {
                in = cudnn.createTensorDescriptor();
                MemorySegment inDesc = in;
                destroy.add(() -> cudnn.destroyTensorDescriptor(inDesc));
                out = cudnn.createTensorDescriptor();
                MemorySegment outDesc = out;
                destroy.add(() -> cudnn.destroyTensorDescriptor(outDesc));
                filter = cudnn.createFilterDescriptor();
                MemorySegment filterDesc = filter;
                destroy.add(() -> cudnn.destroyFilterDescriptor(filterDesc));
                conv = cudnn.createConvolutionDescriptor();
                MemorySegment convDesc = conv;
                destroy.add(() -> cudnn.destroyConvolutionDescriptor(convDesc));
                int dt = v.type().cudnn;
                cudnn.setTensorNd(in, dt, new int[] {p.n(), p.c(), p.h(), p.w()}, strides(v.layout(), p.inStorageChannels(), p.h(), p.w()), what);
                cudnn.setTensorNd(out, dt, new int[] {p.n(), p.k(), p.p(), p.q()}, strides(v.layout(), p.outStorageChannels(), p.p(), p.q()), what);
                cudnn.setFilter4d(filter, dt, v.layout() == Layout.NHWC ? Cudnn.TENSOR_NHWC : Cudnn.TENSOR_NCHW, p.k(), p.c(), p.r(), p.s(), what);
                cudnn.setConvolution2d(conv, p.pad(), p.stride(), what);
                // float32 math for FP32, as the engine runs it without TF32; tensor cores for the 16-bit types
                cudnn.setConvolutionMathType(conv, v.type() == DataType.FP32 ? Cudnn.FMA_MATH : Cudnn.TENSOR_OP_MATH, what);
                return null;
            } catch (CudaException e) {
                return e.getMessage();
            }
        }

        /**
         * Element strides of [N, C, H, W] dims for a tensor in a storage of {@code storage} channels:
         * NCHW {C_s*H*W, H*W, W, 1}, NHWC {H*W*C_s, 1, W*C_s, C_s}.
         */
        static int[] strides(Layout layout, int storage, int h, int w) {
            return layout == Layout.NCHW
                    ? new int[] {storage * h * w, h * w, w, 1}
                    : new int[] {h * w * storage, 1, w * storage, storage};
        }

        @Override
        public void close() {
            for (int i = destroy.size() - 1; i >= 0; i--) destroy.get(i).run();
        }
    }
}
