package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.densenet.engine.DType;
import org.densenet.engine.Precision;
import org.densenet.engine.Tensor;
import org.densenet.engine.cuda.ffm.Nccl;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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
        Nccl nccl = EmulatedGpu.ncclOrSkip();
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
                Tensor g = b.allocate(DType.F32, N), w = b.allocate(DType.F32, N), g0 = b.allocate(DType.F32, N), g2 = b.allocate(DType.F32, N);
                b.upload(grads[r], g);
                b.upload(grads[r], g0);
                b.upload(weights[r], w);
                tensors.add(new Tensor[] {g, w, g0, g2});
            }
            byte[] id = nccl.uniqueId();
            List<Future<?>> done = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                done.add(pool.submit(() -> {
                    try (GradientAllReduce reduce = new GradientAllReduce(backends.get(rank), nccl.initRank(ranks, id, rank), Duration.ofSeconds(30))) {
                        reduce.broadcast(tensors.get(rank)[1], 0, "broadcast of rank 0's parameters");
                        reduce.average(tensors.get(rank)[0], OFFSETS, COUNTS, "step 0");
                        // the overlapped path, timed, on a copy: the same average through the second stream
                        reduce.timeAverages();
                        backends.get(rank).copy(tensors.get(rank)[2], tensors.get(rank)[3], false);
                        for (int i = 0; i < OFFSETS.length; i++) reduce.startAverage(tensors.get(rank)[3], OFFSETS[i], COUNTS[i], "bucket " + i);
                        reduce.backwardQueued();
                        reduce.finishAverages("step 0, overlapped");
                        GradientAllReduce.Timed t = reduce.lastAverages();
                        assertEquals(2, t.buckets());
                        assertTrue(t.allReduceMillis() >= 0 && t.overlappedMillis() >= 0 && t.overlappedMillis() <= t.allReduceMillis() + 1e-6,
                                "timed " + t);
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
                float[] overlapped = new float[N];
                backends.get(r).download(tensors.get(r)[3], overlapped);
                assertArrayEquals(g, overlapped, "rank " + r + ": the overlapped path averages as the other");
                assertArrayEquals(weights[0], w, "rank " + r + "'s parameters are rank 0's");
                for (int i = 0; i < N; i++) {
                    double mean = 0;
                    for (float[] x : grads) mean += x[i] / (double) ranks;
                    assertEquals(mean, g[i], 1e-6, "rank " + r + ", gradient " + i);
                }
            }
        } finally {
            pool.shutdownNow();
            for (Tensor[] t : tensors) for (Tensor x : t) x.close();
            for (CudaBackend b : backends) b.close();
        }
    }

    /**
     * --sync-bn's three ops on every rank's batch [3, 5, 4, 4] (values around 3, so the statistics' shifts matter)
     * equal the ordinary ops on all ranks' samples joined into one batch: statistics, the training apply with
     * its running statistics (unbiased over the joined count), and backward's dx; dgamma and dbeta are the
     * joined batch's divided by the ranks, the mean that the gradient average leaves as it is. On a GPU with one
     * rank, through the real NCCL: the synchronised ops must give the ordinary ones.
     */
    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "BF16"})
    void syncBatchNormOnEveryRankEqualsBatchNormOfTheJoinedBatch(Precision precision) throws Exception {
        boolean emulated = EmulatedGpu.requested();
        Nccl nccl = EmulatedGpu.ncclOrSkip();
        int ranks = emulated ? 2 : 1, n = 3, c = 5, hw = 16, per = n * c * hw;
        Random rng = new Random(23);
        float[][] x = new float[ranks][per], dy = new float[ranks][per];
        float[] gamma = new float[c], beta = new float[c], running = new float[c];
        for (int r = 0; r < ranks; r++) {
            for (int i = 0; i < per; i++) {
                x[r][i] = 3 + (float) rng.nextGaussian() + r * 0.5f;
                dy[r][i] = (float) rng.nextGaussian();
            }
        }
        for (int i = 0; i < c; i++) {
            gamma[i] = 0.5f + rng.nextFloat();
            beta[i] = rng.nextFloat() - 0.5f;
            running[i] = rng.nextFloat();
        }
        List<CudaBackend> backends = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        float[][][] synced = new float[ranks][][];
        try {
            for (int r = 0; r < ranks; r++) {
                backends.add(emulated ? EmulatedGpu.open(precision)
                        : (CudaBackend) org.densenet.engine.Backends.create("cuda:0", precision, System.out));
            }
            byte[] id = nccl.uniqueId();
            List<Future<?>> done = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                done.add(pool.submit(() -> {
                    CudaBackend b = backends.get(rank);
                    try (GradientAllReduce reduce = new GradientAllReduce(b, nccl.initRank(ranks, id, rank), Duration.ofSeconds(30))) {
                        reduce.synchronizeBatchNorm(true);
                        synced[rank] = batchNormOps(b, n, c, x[rank], dy[rank], gamma, beta, running);
                        reduce.synchronizeBatchNorm(false);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get(60, TimeUnit.SECONDS);
            float[] xs = new float[ranks * per], dys = new float[ranks * per];
            for (int r = 0; r < ranks; r++) {
                System.arraycopy(x[r], 0, xs, r * per, per);
                System.arraycopy(dy[r], 0, dys, r * per, per);
            }
            // on a pool thread too: the emulator orders a block's threads by the launches made so far on the calling thread,
            // which the test thread's later tests should not see changed
            float[][] joined = pool.submit(() -> batchNormOps(backends.get(0), ranks * n, c, xs, dys, gamma, beta, running))
                    .get(60, TimeUnit.SECONDS);
            String[] names = {"mean", "var", "y", "running mean", "running var", "dx", "dgamma", "dbeta", "mean (statistics op)",
                "var (statistics op)"};
            for (int r = 0; r < ranks; r++) {
                for (int k = 0; k < names.length; k++) {
                    float[] want = joined[k];
                    if (k == 2 || k == 5) want = java.util.Arrays.copyOfRange(want, r * per, (r + 1) * per);   // this rank's samples
                    if (k == 6 || k == 7) {
                        want = want.clone();
                        for (int i = 0; i < want.length; i++) want[i] /= ranks;
                    }
                    // y and dx are stored in the activations' type: in bf16 a value may round the other way (2^-7, relative to the largest)
                    double tol = (k == 2 || k == 5) && precision == Precision.BF16 ? 0x1p-7 : 2e-6;
                    assertClose(want, synced[r][k], tol, precision + " rank " + r + " " + names[k]);
                }
            }
        } finally {
            pool.shutdownNow();
            for (CudaBackend b : backends) b.close();
        }
    }

    /**
     * On one backend: batch statistics, the training apply (statistics computed in it) with running statistics,
     * and backward with ReLU, of x and dy [n, c, 4, 4]. Returns mean, var, y, running mean and var, dx, dgamma, dbeta,
     * then the statistics op's own mean and var.
     */
    private static float[][] batchNormOps(CudaBackend b, int n, int c, float[] x, float[] dy, float[] gamma, float[] beta, float[] running) {
        DType act = b.activationDType();
        try (Tensor tx = b.allocate(act, n, c, 4, 4); Tensor tdy = b.allocate(act, n, c, 4, 4);
             Tensor y = b.allocate(act, n, c, 4, 4); Tensor dx = b.allocate(act, n, c, 4, 4);
             Tensor g = b.allocate(DType.F32, c); Tensor be = b.allocate(DType.F32, c); Tensor mean = b.allocate(DType.F32, c);
             Tensor var = b.allocate(DType.F32, c); Tensor rm = b.allocate(DType.F32, c); Tensor rv = b.allocate(DType.F32, c);
             Tensor dg = b.allocate(DType.F32, c); Tensor db = b.allocate(DType.F32, c); Tensor m2 = b.allocate(DType.F32, c);
             Tensor v2 = b.allocate(DType.F32, c)) {
            b.upload(x, tx);
            b.upload(dy, tdy);
            b.upload(gamma, g);
            b.upload(beta, be);
            b.upload(running, rm);
            b.upload(running, rv);
            b.batchNormStatistics(tx, m2, v2);
            b.batchNormApplyTraining(tx, mean, var, false, g, be, 1e-5, true, y, 0.1, rm, rv);
            b.batchNormBackward(tx, tdy, mean, var, g, be, 1e-5, true, dx, false, dg, db);
            Tensor[] out = {mean, var, y, rm, rv, dx, dg, db, m2, v2};
            float[][] host = new float[out.length][];
            for (int i = 0; i < out.length; i++) {
                host[i] = new float[(int) out[i].numel()];
                b.download(out[i], host[i]);
            }
            return host;
        }
    }

    /** max |a - b| within tol times max |a| (and 1e-30). */
    private static void assertClose(float[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what);
        double scale = 1e-30, diff = 0;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs(want[i] - got[i]));
        }
        assertTrue(diff <= tol * scale, what + ": max difference " + diff + " against a largest value of " + scale);
    }
}
