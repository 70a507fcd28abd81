package org.densenet.engine.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

import org.densenet.engine.cuda.ffm.Cublas;
import org.densenet.engine.cuda.ffm.CudaLibraries;
import org.densenet.engine.cuda.ffm.Cudnn;
import org.densenet.engine.cuda.ffm.DriverProbe;
import org.densenet.engine.cuda.ffm.FakeLibraries;
import org.densenet.engine.cuda.ffm.LibraryLoader;
import org.densenet.engine.cuda.ffm.NativeLibrary;
import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.engine.cuda.ffm.NcclLibrary;
import org.junit.jupiter.api.Assumptions;

/**
 * The GPU tests' second target: with {@code -Ddensenet.gpu=emulated} (the build's "gpu-emulated"
 * test runs, each in a JVM of its own) they run against an emulated device instead of skipping.
 * The CUDA backend and the kernel launchers run unchanged through JCuda's real JNI library, over
 * a stand-in libcuda.so.1 that executes the project's kernels on the CPU (cuda_emulator.cpp) and
 * stand-in cuDNN and cuBLAS that compute convolutions and matrix products by their definitions.
 * It proves the launchers, the kernel bodies' indexing and arithmetic, the descriptors' strides and
 * the backend's bookkeeping; not the real libraries, the hardware, or any speed.
 */
public final class EmulatedGpu {
    /** System property that selects the emulated device for the GPU tests. */
    public static final String PROPERTY = "densenet.gpu";

    private static CudaLibraries.Driver driver;
    private static CudaLibraries.Toolkit toolkit;
    /** Devices the emulated driver reports (it is probed again when a test asks for more). */
    private static int devices = 1;

    private EmulatedGpu() {
    }

    /** Whether this JVM runs the GPU tests on the emulated device. */
    public static boolean requested() {
        return "emulated".equals(System.getProperty(PROPERTY));
    }

    /** Loads the emulating libcuda.so.1 (once), so that JCuda's JNI library binds to it; returns its path. */
    public static synchronized Path loadDriver() {
        Path lib = FakeLibraries.emulatedDriver();
        if (driver == null) {
            try {
                NativeLibrary cuda = NativeLibrary.open(lib.toString());
                if (devices > 1) {
                    MethodHandle set = cuda.function("fake_cuda_set_device_count", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
                    set.invokeExact(devices);
                }
                DriverProbe probe = new DriverProbe(cuda);
                probe.init();
                driver = new CudaLibraries.Driver("CUDA emulator " + lib, probe, probe.driverVersion(), probe.devices());
            } catch (NativeLibrary.LoadFailure | org.densenet.engine.cuda.ffm.LibraryLoader.NotLoadable e) {
                throw new IllegalStateException(e.getMessage(), e);
            } catch (Throwable e) {
                throw new IllegalStateException("setting the emulated device count: " + e, e);
            }
        }
        return lib;
    }

    /** The emulating driver as the library search would report it, loading it first. */
    public static synchronized CudaLibraries.Driver driver() {
        loadDriver();
        return driver;
    }

    /**
     * A folder that makes the emulated device look installed to a whole program: libcuda.so.1 (the
     * emulator), libcudnn.so.9 and libcublas.so.13 (the stand-ins, under the sonames the library
     * search looks for), and libnccl.so.2 (ranks as threads of one process). Give it to a child
     * process as LD_LIBRARY_PATH and DENSENET_CUDA_LIBS; {@link #open()} loads the same files by path
     * in this process.
     */
    public static synchronized Path libraryFolder() {
        Path dir = FakeLibraries.emulatedDriver().getParent();
        FakeLibraries.build(dir, "cudnn", "libcudnn.so.9", "-DDN_DEFAULT_ALGORITHM", "-Wl,-soname,libcudnn.so.9");
        FakeLibraries.build(dir, "cublas", "libcublas.so.13", "-Wl,-soname,libcublas.so.13");
        FakeLibraries.build(dir, "nccl", "libnccl.so.2", "-pthread", "-Wl,-soname,libnccl.so.2");
        return dir;
    }

    /** The stand-in libnccl.so.2 of {@link #libraryFolder()}: the ranks are threads of this process. */
    public static Nccl nccl() throws NativeLibrary.LoadFailure {
        Path lib = libraryFolder().resolve("libnccl.so.2");
        return new Nccl(NativeLibrary.open(lib.toString()), lib.toString());
    }

    /**
     * For a test that runs on a GPU or on the emulated device: the stand-in NCCL where {@link #requested()}, else the real
     * one; skips the test, saying why, where there is no usable GPU or no NCCL.
     */
    public static Nccl ncclOrSkip() throws NativeLibrary.LoadFailure {
        if (requested()) return nccl();
        try {
            CudaLibraries.driver();
            CudaLibraries.toolkit();
        } catch (LibraryLoader.NotLoadable e) {
            Assumptions.abort("no usable GPU: " + e.getMessage());
        }
        try {
            return NcclLibrary.load();
        } catch (LibraryLoader.NotLoadable e) {
            Assumptions.abort("a GPU but no NCCL: " + e.getMessage());
            return null;
        }
    }

    /** Graph launches the emulated driver has made in this process, every thread's. */
    public static long graphLaunches() {
        try {
            MethodHandle h = NativeLibrary.open(loadDriver().toString()).function("fake_graph_launches", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
            return (long) h.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Like {@link #libraryFolder()}, but a null device (bin/host-overhead.sh builds the same): the
     * libraries check every call, then drop its work, so whole-size networks run in the time the
     * host takes to issue them. Only for child processes: this JVM may have loaded the emulator.
     */
    public static synchronized Path nullDeviceFolder() {
        Path dir = FakeLibraries.emulatedDriver("null-device", "-DDN_NULL_DEVICE").getParent();
        FakeLibraries.build(dir, "cudnn", "libcudnn.so.9", "-DDN_DEFAULT_ALGORITHM", "-DDN_NULL_DEVICE", "-Wl,-soname,libcudnn.so.9");
        FakeLibraries.build(dir, "cublas", "libcublas.so.13", "-DDN_NULL_DEVICE", "-Wl,-soname,libcublas.so.13");
        return dir;
    }

    /** A CUDA backend on the emulated device, TF32 off, over {@link #libraryFolder()}'s stand-in cuDNN and cuBLAS. */
    public static synchronized CudaBackend open() {
        loadDriver();
        return CudaBackend.open(driver, toolkit(), 0, false);
    }

    /** A CUDA backend on the emulated device computing in {@code precision} (BF16 and FP16: 16-bit activations), CUDA graphs as by default. */
    public static synchronized CudaBackend open(org.densenet.engine.Precision precision) {
        loadDriver();
        return CudaBackend.open(driver, toolkit(), 0, precision, CudaBackend.graphsByDefault());
    }

    private static CudaLibraries.Toolkit toolkit() {
        if (toolkit == null) {
            Path dir = libraryFolder();
            try {
                Cudnn cudnn = new Cudnn(NativeLibrary.open(dir.resolve("libcudnn.so.9").toString()));
                Cublas cublas = new Cublas(NativeLibrary.open(dir.resolve("libcublas.so.13").toString()));
                toolkit = new CudaLibraries.Toolkit(cudnn, "stand-in cuDNN (direct convolution on the CPU)", cudnn.version(), cublas,
                        "stand-in cuBLAS (SGEMM on the CPU)", cublas.version(), "");
            } catch (NativeLibrary.LoadFailure e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }
        return toolkit;
    }

    /**
     * A CUDA backend on emulated device {@code ordinal}, CUDA graphs off: the data-parallel tests that check
     * each step's collectives from the host (recording gradients between backward and the update) need every
     * step run op by op. The driver reports as many devices as the highest ordinal asked for so far needs;
     * all of them are this process's memory.
     */
    public static synchronized CudaBackend open(int ordinal) {
        return open(ordinal, false);
    }

    /** As {@link #open(int)}, capturing graphs when {@code graphs} (each rank on its own thread, in the thread-local mode). */
    public static synchronized CudaBackend open(int ordinal, boolean graphs) {
        return open(ordinal, org.densenet.engine.Precision.FP32, graphs);
    }

    /** As {@link #open(int, boolean)}, computing in {@code precision}. */
    public static synchronized CudaBackend open(int ordinal, org.densenet.engine.Precision precision, boolean graphs) {
        if (ordinal + 1 > devices) {
            devices = ordinal + 1;
            driver = null;
        }
        loadDriver();
        return CudaBackend.open(driver, toolkit(), ordinal, precision, graphs);
    }
}
