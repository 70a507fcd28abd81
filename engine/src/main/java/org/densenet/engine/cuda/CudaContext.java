package org.densenet.engine.cuda;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import org.densenet.engine.cuda.ffm.HostCopies;
import org.densenet.engine.cuda.ffm.NativeLibrary;
import org.densenet.engine.GraphCaptureException;
import org.densenet.engine.cuda.ffm.StreamCopies;
import org.densenet.engine.cuda.ffm.StreamGraphs;
import org.densenet.engine.cuda.kernels.CudaCheck;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

/**
 * One GPU through JCuda's driver API: its primary context (shared with any other user of the
 * device in this process, as the runtime API does), one stream every op is queued on, and the
 * raw memory calls. Every call's result is checked by {@link #check}, which names the op, the
 * call and the driver's own message. JCuda's exceptions are left off: its messages name only the
 * call, and ours also say what was being done.
 */
final class CudaContext implements DeviceQueue, AutoCloseable {
    /** The stream whose handle we need as a number for cuDNN and cuBLAS. */
    static final class RawStream extends CUstream {
        long address() {
            return getNativePointer();
        }
    }

    /** cuMemAlloc writes the address into this object; reading it needs the protected accessor. */
    private static final class RawPointer extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    /** The context current on each thread, to skip cuCtxSetCurrent when nothing changed. */
    private static final ThreadLocal<CudaContext> CURRENT = new ThreadLocal<>();

    private final int ordinal;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final RawStream stream = new RawStream();
    private final StreamCopies copies;
    private final HostCopies hostCopies;
    private final StreamGraphs graphs;
    /** What is being captured on the stream, or null. */
    private String capturing;
    /** The watches of the collectives queued during the capture, for the graph's replays ({@link ReplayWatch}). */
    private final List<ReplayWatch> captureWatches = new ArrayList<>();
    private volatile boolean closed;
    private final AtomicLong waited = new AtomicLong();

    /** Opens GPU {@code ordinal}; {@code libcuda} is the driver library, already loaded, for the calls made through FFM. */
    CudaContext(int ordinal, NativeLibrary libcuda) {
        this.ordinal = ordinal;
        this.copies = new StreamCopies(libcuda);
        this.hostCopies = new HostCopies(libcuda);
        this.graphs = new StreamGraphs(libcuda);
        try {
            JCudaDriver.setExceptionsEnabled(false);
        } catch (LinkageError e) {
            // JCuda extracts its JNI library from the jar to java.io.tmpdir; say so in one line.
            throw new CudaUnavailableException("JCuda's native library (libJCudaDriver) could not be loaded: "
                    + reason(e.getMessage()) + " (it is unpacked from the jar into java.io.tmpdir, which must be writable)");
        }
        check(JCudaDriver.cuInit(0), "opening cuda:" + ordinal, "cuInit");
        check(JCudaDriver.cuDeviceGet(device, ordinal), "opening cuda:" + ordinal, "cuDeviceGet");
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "opening cuda:" + ordinal, "cuDevicePrimaryCtxRetain");
        bind();
        // A blocking stream (flags 0): the synchronous host copies, which run on the legacy default
        // stream, are ordered after everything queued here, and everything queued later after them.
        check(JCudaDriver.cuStreamCreate(stream, 0), "opening cuda:" + ordinal, "cuStreamCreate");
    }

    /**
     * JCuda's loader reports one nested error per way it tried (library path, then the copy unpacked
     * from the jar); the last is the one that matters.
     */
    static String reason(String message) {
        if (message == null) return "no message";
        String last = null;
        for (String line : message.split("\n")) {
            int at = line.indexOf("UnsatisfiedLinkError: ");
            if (at >= 0) last = line.substring(at + "UnsatisfiedLinkError: ".length()).strip();
        }
        if (last != null) return last;
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    int ordinal() {
        return ordinal;
    }

    @Override
    public long streamAddress() {
        return stream.address();
    }

    @Override
    public long freeBytes() {
        return memoryInfo()[0];
    }

    @Override
    public void fill32(DeviceAllocator.Block block, long count, int bits, String op) {
        fill32(block.address(), count * 4, count, 1, bits, op);
    }

    /** Makes this context current on the calling thread; every entry point of the backend calls it first. */
    void bind() {
        if (closed) throw new IllegalStateException("the CUDA backend on cuda:" + ordinal + " is closed");
        if (CURRENT.get() == this) return;
        check(JCudaDriver.cuCtxSetCurrent(context), "using cuda:" + ordinal, "cuCtxSetCurrent");
        CURRENT.set(this);
    }

    void check(int result, String op, String call) {
        CudaCheck.check(result, op, call);
    }

    @Override
    public void refuseWhileCapturing(String what) {
        if (capturing != null) throw new GraphCaptureException(what + " cannot be part of a captured " + capturing);
    }

    boolean capturing() {
        return capturing != null;
    }

    // ---- stream capture and graphs ----------------------------------------------------------

    /**
     * Starts capturing the stream's work as {@code what} (a phrase: "training step"); nothing queued from now on runs until launched.
     *
     * <p>The thread-local mode, for one GPU as for several: data-parallel ranks are threads of one process, each capturing its own
     * step, and the global mode would fail every other rank's allocation (and spoil this capture) while one rank captures, which is
     * what NCCL's guide asks to avoid for a thread per GPU. On one GPU it loses nothing: the driver still fails the capturing
     * thread's own unsafe calls and spoils the capture, and every call a step makes comes from that thread (and meets
     * {@link #refuseWhileCapturing} first); no other thread of this process touches the device while it captures. One mode for
     * both also means the single-GPU runs exercise the mode the ranks capture in.
     */
    void beginCapture(String what) {
        if (capturing != null) throw new IllegalStateException("already capturing a " + capturing);
        check(graphs.beginCapture(stream.address(), StreamGraphs.CAPTURE_MODE_THREAD_LOCAL), "capturing a " + what, "cuStreamBeginCapture");
        capturing = what;
        captureWatches.clear();
    }

    /** The capture under way holds collectives that {@code watch} must watch at each replay (no effect outside a capture). */
    void watchReplays(ReplayWatch watch) {
        if (capturing != null && !captureWatches.contains(watch)) captureWatches.add(watch);
    }

    /** The watches the capture just ended collected, handed over once. */
    List<ReplayWatch> takeReplayWatches() {
        List<ReplayWatch> w = List.copyOf(captureWatches);
        captureWatches.clear();
        return w;
    }

    /**
     * Ends the capture and returns its graph, or 0 when the driver invalidated it (a call it forbids
     * was made meanwhile; {@code result[0]} then holds the driver's code). The stream is usable again either way.
     */
    long endCapture(int[] result) {
        String what = capturing;
        capturing = null;
        long[] graph = new long[1];
        int r = graphs.endCapture(stream.address(), graph);
        result[0] = r;
        if (r == CUresult.CUDA_ERROR_STREAM_CAPTURE_INVALIDATED) return 0;
        check(r, "capturing a " + what, "cuStreamEndCapture");
        return graph[0];
    }

    long instantiateGraph(long graph, String what) {
        long[] exec = new long[1];
        check(graphs.instantiate(exec, graph), "instantiating the captured " + what, "cuGraphInstantiateWithFlags");
        return exec[0];
    }

    void launchGraph(long exec, String what) {
        check(graphs.launch(exec, stream.address()), "replaying the captured " + what, "cuGraphLaunch");
    }

    void destroyGraph(long graph, String what) {
        check(graphs.destroyGraph(graph), "freeing the captured " + what, "cuGraphDestroy");
    }

    void destroyGraphExec(long exec, String what) {
        check(graphs.destroyExec(exec), "freeing the captured " + what, "cuGraphExecDestroy");
    }

    /** Waits for everything queued on the stream; the time blocked counts in {@link #waitedNanos()}. */
    void synchronize(String op) {
        refuseWhileCapturing("waiting for the GPU (" + op + ")");
        check(blocking(() -> JCudaDriver.cuStreamSynchronize(stream)), op, "cuStreamSynchronize");
    }

    /** Runs a driver call that blocks the host until the GPU gets somewhere, counting the time in {@link #waitedNanos()}. */
    private int blocking(java.util.function.IntSupplier call) {
        long t0 = System.nanoTime();
        int r = call.getAsInt();
        waited.addAndGet(System.nanoTime() - t0);
        return r;
    }

    /** Nanoseconds spent blocked in {@link #synchronize} and {@link #waitFor} since the context opened. */
    long waitedNanos() {
        return waited.get();
    }

    /** {free, total} bytes of the device. */
    long[] memoryInfo() {
        long[] free = new long[1];
        long[] total = new long[1];
        check(JCudaDriver.cuMemGetInfo(free, total), "reading free GPU memory", "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    // ---- raw memory for the allocator ----------------------------------------------------

    /** cuMemAlloc, or null when the device is out of memory. */
    DeviceAllocator.Block allocate(long bytes) {
        refuseWhileCapturing("allocating device memory");
        RawPointer p = new RawPointer();
        int r = JCudaDriver.cuMemAlloc(p, bytes);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) return null;
        check(r, "allocating " + DeviceAllocator.human(bytes) + " on cuda:" + ordinal, "cuMemAlloc");
        return new DeviceAllocator.Block(p.address(), bytes, p);
    }

    void free(DeviceAllocator.Block block) {
        check(JCudaDriver.cuMemFree((CUdeviceptr) block.handle()), "freeing GPU memory", "cuMemFree");
    }

    // ---- copies and fills (addresses are JCuda pointers with their byte offsets) ------------

    /** Device to host, synchronous. */
    void download(CUdeviceptr src, Pointer host, long bytes, String op) {
        refuseWhileCapturing("a synchronous copy to the host (" + op + ")");
        check(JCudaDriver.cuMemcpyDtoH(host, src, bytes), op, "cuMemcpyDtoH");
    }

    /** Page-locked host memory of {@code bytes}; its address. */
    long allocatePinned(long bytes, String op) {
        refuseWhileCapturing("allocating page-locked memory (" + op + ")");
        long[] address = new long[1];
        check(hostCopies.allocate(bytes, address), op + " (allocating " + DeviceAllocator.human(bytes) + " of page-locked host memory)",
                "cuMemAllocHost");
        return address[0];
    }

    void freePinned(long address, String op) {
        check(hostCopies.free(address), op, "cuMemFreeHost");
    }

    /** From page-locked host memory to the device, queued on the stream. */
    void uploadAsync(long host, long dst, long bytes, String op) {
        check(hostCopies.toDevice(dst, host, bytes, stream.address()), op, "cuMemcpyHtoDAsync");
    }

    /** From the device to page-locked host memory, queued on the stream: the data is there once an event recorded after it has passed. */
    void downloadAsync(long src, long host, long bytes, String op) {
        check(hostCopies.toHost(host, src, bytes, stream.address()), op, "cuMemcpyDtoHAsync");
    }

    /** rows x rowBytes from device address src (rows srcPitch bytes apart) to dst (dstPitch apart), on the stream. */
    void copy2d(long src, long srcPitch, long dst, long dstPitch, long rowBytes, long rows, String op) {
        if (rows == 1) {
            check(copies.copy(dst, src, rowBytes, stream.address()), op, "cuMemcpyDtoDAsync");
            return;
        }
        check(copies.copy2d(src, srcPitch, dst, dstPitch, rowBytes, rows, stream.address()), op, "cuMemcpy2DAsync");
    }

    /** rows x rowElements 32-bit words from device address dst set to bits, rows pitchBytes apart, on the stream. */
    void fill32(long dst, long pitchBytes, long rowElements, long rows, int bits, String op) {
        if (rows == 1) {
            check(copies.fill(dst, bits, rowElements, stream.address()), op, "cuMemsetD32Async");
        } else {
            check(copies.fill2d(dst, pitchBytes, bits, rowElements, rows, stream.address()), op, "cuMemsetD2D32Async");
        }
    }

    // ---- modules and events ---------------------------------------------------------------

    CUmodule loadModule(byte[] image, String what) {
        CUmodule m = new CUmodule();
        check(JCudaDriver.cuModuleLoadData(m, image), "loading " + what, "cuModuleLoadData");
        return m;
    }

    void unloadModule(CUmodule m) {
        check(JCudaDriver.cuModuleUnload(m), "unloading the CUDA kernels", "cuModuleUnload");
    }

    CUevent newEvent() {
        CUevent e = new CUevent();
        check(JCudaDriver.cuEventCreate(e, 0), "creating a CUDA event", "cuEventCreate");
        return e;
    }

    /** An event that only marks a point in the stream (no timing, which makes recording and waiting cheaper). */
    CUevent newMarker() {
        CUevent e = new CUevent();
        check(JCudaDriver.cuEventCreate(e, jcuda.driver.CUevent_flags.CU_EVENT_DISABLE_TIMING), "creating a CUDA event", "cuEventCreate");
        return e;
    }

    void record(CUevent e) {
        record(e, "timing GPU work");
    }

    void record(CUevent e, String op) {
        record(e, stream, op);
    }

    void record(CUevent e, CUstream on, String op) {
        check(JCudaDriver.cuEventRecord(e, on), op, "cuEventRecord");
    }

    /** A second blocking stream of this context ({@link SideStream}). */
    RawStream newStream(String op) {
        RawStream s = new RawStream();
        check(JCudaDriver.cuStreamCreate(s, 0), op, "cuStreamCreate");
        return s;
    }

    /** Work queued on {@code waiting} from now on runs after event e (null: the backend's stream waits); the host does not wait. */
    void streamWait(CUstream waiting, CUevent e, String op) {
        check(JCudaDriver.cuStreamWaitEvent(waiting == null ? stream : waiting, e, 0), op, "cuStreamWaitEvent");
    }

    /** Waits until {@code other} has run everything queued on it; the time blocked counts in {@link #waitedNanos()}. */
    void synchronize(CUstream other, String op) {
        refuseWhileCapturing("waiting for the GPU (" + op + ")");
        check(blocking(() -> JCudaDriver.cuStreamSynchronize(other)), op, "cuStreamSynchronize");
    }

    void destroyStream(CUstream s) {
        check(JCudaDriver.cuStreamSynchronize(s), "closing cuda:" + ordinal, "cuStreamSynchronize");
        check(JCudaDriver.cuStreamDestroy(s), "closing cuda:" + ordinal, "cuStreamDestroy");
    }

    /** Waits until the stream has passed event e; the time blocked counts in {@link #waitedNanos()}. */
    void waitFor(CUevent e, String op) {
        refuseWhileCapturing("waiting for the GPU (" + op + ")");
        check(blocking(() -> JCudaDriver.cuEventSynchronize(e)), op, "cuEventSynchronize");
    }

    /** Milliseconds between two recorded events; waits for the second. */
    float elapsedMillis(CUevent start, CUevent stop) {
        check(JCudaDriver.cuEventSynchronize(stop), "timing GPU work", "cuEventSynchronize");
        float[] ms = new float[1];
        check(JCudaDriver.cuEventElapsedTime(ms, start, stop), "timing GPU work", "cuEventElapsedTime");
        return ms[0];
    }

    void destroyEvent(CUevent e) {
        check(JCudaDriver.cuEventDestroy(e), "freeing a CUDA event", "cuEventDestroy");
    }

    @Override
    public void close() {
        if (closed) return;
        bind();
        try {
            check(JCudaDriver.cuStreamSynchronize(stream), "closing cuda:" + ordinal, "cuStreamSynchronize");
            check(JCudaDriver.cuStreamDestroy(stream), "closing cuda:" + ordinal, "cuStreamDestroy");
        } finally {
            closed = true;
            CURRENT.remove();
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }
}
