package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.ffm.LibraryLoader;
import org.densenet.engine.cuda.ffm.NativeLibrary;
import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.engine.cuda.ffm.NcclLibrary;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Bucketed gradient averaging and the parameter broadcast over CUDA backends. On the emulated
 * device: two ranks, each a thread with its own backend, through the stand-in NCCL. On a GPU:
 * one rank through the real NCCL, which must leave the buffers as they were (an average over one
 * rank), the cheapest proof that the bindings drive a real communicator.
 */
@Tag("gpu")
class GradientAllReduceGpuTest {
    private static final int N = 3000;
    private static final long[] OFFSETS = {1800, 0};   // backward order: the tail first
    private static final long[] COUNTS = {1200, 1800};

    @Test
    void bucketsAreAveragedInPlaceAndRankZerosWeightsReachEveryRank() throws Exception {
        boolean emulated = EmulatedGpu.requested();
        String why = emulated ? null : GpuParityReason.reason();
        Assumptions.assumeTrue(why == null, why);
        Nccl nccl = emulated ? standIn() : real();
        int ranks = emulated ? 2 : 1;
        Random rng = new Random(17);
        float[][] grads = new float[ranks][N], weights = new float[ranks][N];
        List<CudaBackend> backends = new ArrayList<>();
        List<Tensor[]> tensors = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        try {
            for (int r = 0; r < ranks; r++) {
                for (int i = 0; i < N; i++) {
                    grads[r][i] = rng.nextFloat() * 2 - 1;
                    weights[r][i] = rng.nextFloat();
                }
                CudaBackend b = emulated ? EmulatedGpu.open() : (CudaBackend) org.densenet.engine.Backends.create("cuda:0", false, System.out);
                backends.add(b);
                Tensor g = b.allocate(DType.F32, N), w = b.allocate(DType.F32, N);
                b.upload(grads[r], g);
                b.upload(weights[r], w);
                tensors.add(new Tensor[] {g, w});
            }
            byte[] id = nccl.uniqueId();
            List<Future<?>> done = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                done.add(pool.submit(() -> {
                    try (GradientAllReduce reduce = new GradientAllReduce(backends.get(rank), nccl.initRank(ranks, id, rank), Duration.ofSeconds(30))) {
                        reduce.broadcast(tensors.get(rank)[1], 0, "broadcast of rank 0's parameters");
                        reduce.average(tensors.get(rank)[0], OFFSETS, COUNTS, "step 0");
                        assertThrows(IllegalArgumentException.class,
                                () -> reduce.average(tensors.get(rank)[0], new long[] {2999}, new long[] {2}, "step 1"));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get(60, TimeUnit.SECONDS);
            for (int r = 0; r < ranks; r++) {
                float[] g = new float[N], w = new float[N];
                backends.get(r).download(tensors.get(r)[0], g);
                backends.get(r).download(tensors.get(r)[1], w);
                assertArrayEquals(weights[0], w, "rank " + r + "'s parameters are rank 0's");
                for (int i = 0; i < N; i++) {
                    double mean = 0;
                    for (float[] x : grads) mean += x[i] / (double) ranks;
                    assertEquals(mean, g[i], 1e-6, "rank " + r + ", gradient " + i);
                }
            }
        } finally {
            pool.shutdownNow();
            for (Tensor[] t : tensors) {
                t[0].close();
                t[1].close();
            }
            for (CudaBackend b : backends) b.close();
        }
    }

    /** The stand-in libnccl.so.2 beside the emulated driver. */
    private static Nccl standIn() throws NativeLibrary.LoadFailure {
        Path lib = EmulatedGpu.libraryFolder().resolve("libnccl.so.2");
        return new Nccl(NativeLibrary.open(lib.toString()), lib.toString());
    }

    private static Nccl real() {
        try {
            return NcclLibrary.load();
        } catch (LibraryLoader.NotLoadable e) {
            Assumptions.abort("a GPU but no NCCL: " + e.getMessage());
            return null;
        }
    }

    /** Why no GPU test can run here, or null. */
    private static final class GpuParityReason {
        static String reason() {
            try {
                org.densenet.engine.cuda.ffm.CudaLibraries.driver();
                org.densenet.engine.cuda.ffm.CudaLibraries.toolkit();
                return null;
            } catch (LibraryLoader.NotLoadable e) {
                return "no usable GPU: " + e.getMessage();
            }
        }
    }
}
