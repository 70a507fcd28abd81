package org.densenet.engine.cuda.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.densenet.engine.cuda.CudaException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FFM bindings against stand-in libraries with the real signatures: every symbol resolves,
 * every downcall has the type its call site uses (a mismatch throws at the first call), and
 * statuses become messages naming the op, the call and the library's own words.
 */
class BindingsFakeTest {
    @TempDir
    Path tmp;

    @Test
    void driverProbeListsTheDevicesAndSaysWhyInitFailed() throws Throwable {
        NativeLibrary cuda = FakeLibraries.open("cuda", "libfake_cuda.so");
        DriverProbe probe = new DriverProbe(cuda);
        probe.init();
        assertEquals(13000, probe.driverVersion());
        List<DriverProbe.DeviceInfo> devices = probe.devices();
        assertEquals(1, devices.size());
        assertEquals("cuda:0 Fake H100 80GB HBM3 (sm_90, 85.0 GiB)", devices.get(0).describe());

        MethodHandle setInit = cuda.function("fake_set_init_result", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
        setInit.invokeExact(100);
        try {
            LibraryLoader.NotLoadable e = assertThrows(LibraryLoader.NotLoadable.class, probe::init);
            assertEquals("the NVIDIA driver did not start: cuInit: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected",
                    e.getMessage());
            assertEquals("CUDA error (999): unknown status", probe.describe(999));
        } finally {
            setInit.invokeExact(0);
        }
    }

    @Test
    void cudnnReportsVersionsAndChecksStatusesWithItsOwnMessages() {
        Cudnn cudnn = new Cudnn(FakeLibraries.open("cudnn", "libfake_cudnn.so"));
        assertEquals(91400, cudnn.version());
        assertEquals(13000, cudnn.cudartVersion());
        MemorySegment handle = cudnn.createHandle();
        cudnn.setStream(handle, 0x5000);
        MemorySegment desc = cudnn.createTensorDescriptor();
        cudnn.setTensorNd(desc, new int[] {2, 3, 4, 5}, new int[] {100, 20, 5, 1}, "test op");
        CudaException e = assertThrows(CudaException.class,
                () -> cudnn.setTensorNd(desc, new int[] {2, 0, 4, 5}, new int[] {100, 20, 5, 1}, "conv forward x[2, 0, 4, 5]"));
        assertEquals("conv forward x[2, 0, 4, 5]: cudnnSetTensorNdDescriptor failed: CUDNN_STATUS_BAD_PARAM (2000): fake: the last call was refused",
                e.getMessage());
        assertEquals(2000, e.status());
        assertEquals(8, cudnn.algorithmCount(handle, Cudnn.ConvOp.FORWARD));
        assertEquals(6, cudnn.algorithmCount(handle, Cudnn.ConvOp.BACKWARD_DATA));
        assertEquals(7, cudnn.algorithmCount(handle, Cudnn.ConvOp.BACKWARD_FILTER));
        cudnn.destroyTensorDescriptor(desc);
        cudnn.destroyHandle(handle);
    }

    @Test
    void cublasReportsItsVersionAndStatusNames() {
        Cublas cublas = new Cublas(FakeLibraries.open("cublas", "libfake_cublas.so"));
        assertEquals("13.1.0", cublas.version());
        assertEquals("CUBLAS_STATUS_INVALID_VALUE (7): an invalid numeric value was used as an argument", cublas.describe(7));
        CudaException e = assertThrows(CudaException.class, () -> cublas.check(7, "linear forward", "cublasSgemm_v2"));
        assertEquals("linear forward: cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE (7): an invalid numeric value was used as an argument",
                e.getMessage());
    }

    @Test
    void toolkitLoadsCudnnThenTheCublasOfItsCudaMajor() throws IOException, LibraryLoader.NotLoadable {
        Path libs = Files.createDirectories(tmp.resolve("libs"));
        Files.copy(FakeLibraries.build("cudnn", "libfake_cudnn.so"), libs.resolve("libcudnn.so.9"));
        Files.copy(FakeLibraries.build("cublas", "libfake_cublas.so"), libs.resolve("libcublas.so.13"));
        Files.copy(FakeLibraries.build("cublas", "libfake_cublas.so"), libs.resolve("libcublasLt.so.13"));
        Files.copy(FakeLibraries.build("cublas", "libfake_cublas.so"), libs.resolve("libcublas.so.12"));
        LibrarySearch search = LibrarySearch.forToolkit(Map.of(LibrarySearch.ENV_LIBS, libs.toString()), tmp, Files.createDirectories(tmp.resolve("root")));
        CudaLibraries.Toolkit t = CudaLibraries.loadToolkit(search);
        assertEquals(libs.resolve("libcudnn.so.9").toString(), t.cudnnWhere());
        assertEquals(libs.resolve("libcublas.so.13").toString(), t.cublasWhere(), "cuDNN built for CUDA 13 gets cuBLAS 13, not 12");
        assertTrue(t.describe().startsWith("cuDNN 9.14.0, cuBLAS 13.1.0; no libnvrtc.so.13"), t.describe());

        Files.delete(libs.resolve("libcublas.so.13"));
        LibraryLoader.NotLoadable e = assertThrows(LibraryLoader.NotLoadable.class, () -> CudaLibraries.loadToolkit(search));
        assertTrue(e.getMessage().contains("was built for CUDA 13 and needs libcublas.so.13, but only " + libs.resolve("libcublas.so.12")),
                e.getMessage());
    }
}
