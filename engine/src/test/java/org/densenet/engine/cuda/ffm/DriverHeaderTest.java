package org.densenet.engine.cuda.ffm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The FFM side of the per-op driver calls against the real cuda.h. StreamCopies writes CUDA_MEMCPY2D by byte offsets; the stand-in driver declares the struct itself,
 * so the emulated tests cannot catch a wrong offset. This compares the offsets with the real
 * cuda.h, compiled with the machine's C compiler (skipped, saying so, where no CUDA toolkit is installed).
 */
class DriverHeaderTest {

    @Test
    void memcpy2dOffsetsMatchCudaH(@TempDir Path dir) throws Exception {
        Path include = cudaInclude();
        Path c = dir.resolve("offsets.c"), exe = dir.resolve("offsets");
        Files.writeString(c, """
                #include <cuda.h>
                #include <stddef.h>
                #include <stdio.h>
                int main(void) {
                    printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu\\n", offsetof(CUDA_MEMCPY2D, srcMemoryType),
                           offsetof(CUDA_MEMCPY2D, srcDevice), offsetof(CUDA_MEMCPY2D, srcPitch), offsetof(CUDA_MEMCPY2D, dstMemoryType),
                           offsetof(CUDA_MEMCPY2D, dstDevice), offsetof(CUDA_MEMCPY2D, dstPitch), offsetof(CUDA_MEMCPY2D, WidthInBytes),
                           offsetof(CUDA_MEMCPY2D, Height), sizeof(CUDA_MEMCPY2D));
                    return 0;
                }
                """);
        run(List.of("cc", "-I" + include, "-o", exe.toString(), c.toString()));
        long[] fromHeader = Arrays.stream(run(List.of(exe.toString())).strip().split(" ")).mapToLong(Long::parseLong).toArray();
        long[] ours = Arrays.copyOf(StreamCopies.layout(), 9);
        ours[8] = StreamCopies.MEMCPY2D_BYTES;
        assertEquals(Arrays.toString(fromHeader), Arrays.toString(ours),
                "offsets of srcMemoryType, srcDevice, srcPitch, dstMemoryType, dstDevice, dstPitch, WidthInBytes, Height, and the size");
    }

    /**
     * The per-op driver calls bound through FFM (StreamCopies, HostCopies, KernelLauncher) exist under these
     * names in cuda.h with the C types their FunctionDescriptors stand for: handles and device
     * pointers as 64-bit integers, sizes as size_t, counts and dimensions as unsigned int.
     */
    @Test
    void perOpDriverCallsHaveTheBoundNamesAndSignatures(@TempDir Path dir) throws Exception {
        Path include = cudaInclude();
        Path c = dir.resolve("signatures.c");
        Files.writeString(c, """
                #include <cuda.h>
                #include <stdint.h>
                _Static_assert(sizeof(CUfunction) == 8 && sizeof(CUstream) == 8 && sizeof(CUdeviceptr) == 8, "64-bit handles");
                CUresult (*launch)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void **,
                                   void **) = cuLaunchKernel;
                CUresult (*copy)(CUdeviceptr, CUdeviceptr, size_t, CUstream) = cuMemcpyDtoDAsync_v2;
                CUresult (*copy2d)(const CUDA_MEMCPY2D *, CUstream) = cuMemcpy2DAsync_v2;
                CUresult (*fill)(CUdeviceptr, unsigned, size_t, CUstream) = cuMemsetD32Async;
                CUresult (*fill2d)(CUdeviceptr, size_t, unsigned, size_t, size_t, CUstream) = cuMemsetD2D32Async;
                CUresult (*allocHost)(void **, size_t) = cuMemAllocHost_v2;
                CUresult (*freeHost)(void *) = cuMemFreeHost;
                CUresult (*toDevice)(CUdeviceptr, const void *, size_t, CUstream) = cuMemcpyHtoDAsync_v2;
                CUresult (*toHost)(void *, CUdeviceptr, size_t, CUstream) = cuMemcpyDtoHAsync_v2;
                """);
        run(List.of("cc", "-c", "-Werror=incompatible-pointer-types", "-Werror=implicit-function-declaration", "-I" + include,
                "-o", dir.resolve("signatures.o").toString(), c.toString()));
    }

    private static Path cudaInclude() {
        Path include = Stream.of(System.getenv("CUDA_HOME"), System.getenv("CUDA_PATH"), "/usr/local/cuda")
                .filter(s -> s != null && !s.isEmpty())
                .map(s -> Path.of(s, "include"))
                .filter(p -> Files.isRegularFile(p.resolve("cuda.h")))
                .findFirst().orElse(null);
        Assumptions.assumeTrue(include != null, "no CUDA toolkit (cuda.h in $CUDA_HOME, $CUDA_PATH or /usr/local/cuda) to compare with");
        return include;
    }

    private static String run(List<String> cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("cannot run " + cmd.getFirst() + ": " + e.getMessage());
            throw e;
        }
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS)) throw new AssertionError(cmd + " did not finish");
        assertEquals(0, p.exitValue(), cmd + ": " + out);
        return out;
    }
}
