package org.densenet.engine.cuda.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few driver calls needed to decide whether CUDA is usable, made through FFM on libcuda.so.1
 * before JCuda is touched: JCuda's own loader fails with a many-line UnsatisfiedLinkError where
 * the driver is missing, and we want to say in one line what is wrong.
 */
public final class DriverProbe {
    private static final int CUDA_SUCCESS = 0;
    private static final int ATTR_CC_MAJOR = 75; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
    private static final int ATTR_CC_MINOR = 76; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

    /** One GPU as the driver describes it. */
    public record DeviceInfo(int ordinal, String name, long totalBytes, int ccMajor, int ccMinor) {
        public String describe() {
            return "cuda:" + ordinal + " " + name + " (sm_" + ccMajor + ccMinor + ", "
                    + String.format("%.1f GiB", totalBytes / (double) (1L << 30)) + ")";
        }
    }

    private final NativeLibrary libcuda;
    private final MethodHandle cuInit;
    private final MethodHandle cuDriverGetVersion;
    private final MethodHandle cuDeviceGetCount;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDeviceGetName;
    private final MethodHandle cuDeviceTotalMem;
    private final MethodHandle cuDeviceGetAttribute;
    private final MethodHandle cuGetErrorName;
    private final MethodHandle cuGetErrorString;

    public DriverProbe(NativeLibrary libcuda) {
        this.libcuda = libcuda;
        cuInit = libcuda.function("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        cuDriverGetVersion = libcuda.function("cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuDeviceGetCount = libcuda.function("cuDeviceGetCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuDeviceGet = libcuda.function("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceGetName = libcuda.function("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceTotalMem = libcuda.function("cuDeviceTotalMem_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceGetAttribute = libcuda.function("cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuGetErrorName = libcuda.function("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuGetErrorString = libcuda.function("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    }

    /** The driver library the probe calls, for the bindings that follow it (kernel launches). */
    public NativeLibrary library() {
        return libcuda;
    }

    /** cuInit(0); a failure (no device, driver and kernel module out of step, ...) becomes one line. */
    public void init() throws LibraryLoader.NotLoadable {
        int status;
        try {
            status = (int) cuInit.invokeExact(0);
        } catch (Throwable t) {
            throw new IllegalStateException("cuInit could not be called", t);
        }
        if (status != CUDA_SUCCESS) {
            throw new LibraryLoader.NotLoadable("the NVIDIA driver did not start: cuInit: " + describe(status));
        }
    }

    /** Driver API version, e.g. 13000 for CUDA 13.0. */
    public int driverVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            check((int) cuDriverGetVersion.invokeExact(v), "cuDriverGetVersion");
            return v.get(JAVA_INT, 0);
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public List<DeviceInfo> devices() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            check((int) cuDeviceGetCount.invokeExact(count), "cuDeviceGetCount");
            List<DeviceInfo> out = new ArrayList<>();
            for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
                MemorySegment dev = arena.allocate(JAVA_INT);
                check((int) cuDeviceGet.invokeExact(dev, i), "cuDeviceGet");
                int d = dev.get(JAVA_INT, 0);
                MemorySegment name = arena.allocate(256);
                check((int) cuDeviceGetName.invokeExact(name, 256, d), "cuDeviceGetName");
                MemorySegment total = arena.allocate(JAVA_LONG);
                check((int) cuDeviceTotalMem.invokeExact(total, d), "cuDeviceTotalMem");
                MemorySegment major = arena.allocate(JAVA_INT);
                MemorySegment minor = arena.allocate(JAVA_INT);
                check((int) cuDeviceGetAttribute.invokeExact(major, ATTR_CC_MAJOR, d), "cuDeviceGetAttribute");
                check((int) cuDeviceGetAttribute.invokeExact(minor, ATTR_CC_MINOR, d), "cuDeviceGetAttribute");
                out.add(new DeviceInfo(i, name.getString(0), total.get(JAVA_LONG, 0), major.get(JAVA_INT, 0), minor.get(JAVA_INT, 0)));
            }
            return out;
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** "CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected". */
    public String describe(int status) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ADDRESS);
            String name = (int) cuGetErrorName.invokeExact(status, p) == CUDA_SUCCESS ? cString(p) : "CUDA error";
            String text = (int) cuGetErrorString.invokeExact(status, p) == CUDA_SUCCESS ? cString(p) : "unknown status";
            return name + " (" + status + "): " + text;
        } catch (Throwable t) {
            return "CUDA error " + status;
        }
    }

    private static String cString(MemorySegment pointerToString) {
        MemorySegment s = pointerToString.get(ADDRESS, 0);
        return s.address() == 0 ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private void check(int status, String call) {
        if (status != CUDA_SUCCESS) {
            throw new org.densenet.engine.cuda.CudaException("probing the GPU", call, status, describe(status));
        }
    }
}
