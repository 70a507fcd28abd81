package org.densenet.engine.cuda.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;
import org.densenet.engine.cuda.ffm.CudaLibraries;
import org.densenet.engine.cuda.ffm.LibraryLoader;
import org.densenet.kernels.KernelImage;

/**
 * Just enough of a CUDA runtime for the kernel parity tests: the primary context of GPU 0, the
 * committed fatbin loaded as a module, device buffers by address, and checked copies. Every call
 * goes through {@link CudaCheck}.
 */
final class GpuHarness implements KernelModule, AutoCloseable {

    /** A device pointer whose address the launchers can take as a long. */
    static final class DevicePointer extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final LoadedModule loaded;
    private final TreeMap<Long, DevicePointer> buffers = new TreeMap<>();
    private final List<DevicePointer> owned = new ArrayList<>();

    /** Why no GPU test can run here, or null when one can (probed through FFM before JCuda is touched). */
    static String unavailableReason() {
        if (org.densenet.engine.cuda.EmulatedGpu.requested()) {
            org.densenet.engine.cuda.EmulatedGpu.loadDriver();
            return null;
        }
        try {
            CudaLibraries.driver();
            return null;
        } catch (LibraryLoader.NotLoadable e) {
            return "no usable GPU: " + e.getMessage();
        }
    }

    GpuHarness() {
        check(JCudaDriver.cuInit(0), "cuInit");
        check(JCudaDriver.cuDeviceGet(device, 0), "cuDeviceGet(0)");
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        check(JCudaDriver.cuModuleLoadData(module, KernelImage.fatbin()), "cuModuleLoadData(densenet.fatbin)");
        loaded = new LoadedModule(module, new KernelLauncher(driver().api().library()), 0);
    }

    /** The driver the tests run on, as CudaBackend would get it. */
    private static CudaLibraries.Driver driver() {
        if (org.densenet.engine.cuda.EmulatedGpu.requested()) return org.densenet.engine.cuda.EmulatedGpu.driver();
        try {
            return CudaLibraries.driver();
        } catch (LibraryLoader.NotLoadable e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override
    public void launch(String kernel, LaunchGeometry g, KernelArgs args) {
        loaded.launch(kernel, g, args);
    }

    private long scratch, scratchBytes;

    /** Grows by allocating anew; the old buffers stay owned until close, as a test's are. */
    @Override
    public long scratch(long bytes) {
        if (bytes > scratchBytes) {
            scratch = allocate(bytes);
            scratchBytes = bytes;
        }
        return scratch;
    }

    /** A new device buffer of {@code bytes} (256-byte aligned, as cuMemAlloc returns). */
    long allocate(long bytes) {
        DevicePointer p = new DevicePointer();
        check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + ")");
        owned.add(p);
        buffers.put(p.address(), p);
        return p.address();
    }

    long upload(float[] a) {
        long d = allocate(4L * a.length);
        check(JCudaDriver.cuMemcpyHtoD(at(d), Pointer.to(a), 4L * a.length), "cuMemcpyHtoD");
        return d;
    }

    long upload(int[] a) {
        long d = allocate(4L * a.length);
        check(JCudaDriver.cuMemcpyHtoD(at(d), Pointer.to(a), 4L * a.length), "cuMemcpyHtoD");
        return d;
    }

    long upload(short[] a) {
        long d = allocate(2L * a.length);
        check(JCudaDriver.cuMemcpyHtoD(at(d), Pointer.to(a), 2L * a.length), "cuMemcpyHtoD");
        return d;
    }

    long upload(byte[] a) {
        long d = allocate(a.length);
        check(JCudaDriver.cuMemcpyHtoD(at(d), Pointer.to(a), a.length), "cuMemcpyHtoD");
        return d;
    }

    /** Waits for every launch, then copies {@code count} floats from {@code address}. */
    float[] floats(long address, int count) {
        float[] a = new float[count];
        check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        check(JCudaDriver.cuMemcpyDtoH(Pointer.to(a), at(address), 4L * count), "cuMemcpyDtoH");
        return a;
    }

    /** Waits for every launch, then copies {@code count} 16-bit values from {@code address}. */
    short[] shorts(long address, int count) {
        short[] a = new short[count];
        check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        check(JCudaDriver.cuMemcpyDtoH(Pointer.to(a), at(address), 2L * count), "cuMemcpyDtoH");
        return a;
    }

    double[] doubles(long address, int count) {
        double[] a = new double[count];
        check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        check(JCudaDriver.cuMemcpyDtoH(Pointer.to(a), at(address), 8L * count), "cuMemcpyDtoH");
        return a;
    }

    /** A CUdeviceptr for an address inside one of this harness's buffers. */
    private CUdeviceptr at(long address) {
        Map.Entry<Long, DevicePointer> e = buffers.floorEntry(address);
        if (e == null) throw new IllegalArgumentException("address 0x" + Long.toHexString(address) + " is in no buffer of this test");
        return e.getValue().withByteOffset(address - e.getKey());
    }

    private static void check(int result, String call) {
        CudaCheck.check(result, "kernel parity test", call);
    }

    @Override
    public void close() {
        for (DevicePointer p : owned) JCudaDriver.cuMemFree(p);
        JCudaDriver.cuModuleUnload(module);
        JCudaDriver.cuDevicePrimaryCtxRelease(device);
    }
}
