package org.densenet.cli.bench;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.densenet.engine.Backend;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.OpTimer;
import org.densenet.engine.Tensor;

/**
 * The two ceilings every op is measured against, taken once per run on the backend itself:
 * memory bandwidth from a large device copy (bytes read plus bytes written over time), and
 * arithmetic rate from large 1x1 convolutions, which are matrix products (2*M*N*K over time).
 * Inputs are random. A ceiling is the best a backend reaches, so each is the fastest of its
 * timed runs, and the arithmetic one the fastest of several product shapes (a backend's
 * blocking favours some shapes); the medians are reported beside them.
 *
 * @param copyBytes bytes one copy moves (read + write)
 * @param gemmFlops FLOPs of one product of the fastest shape
 * @param gemmShape that shape, as M x K * K x N
 */
public record Peaks(double bytesPerSecond, double flopsPerSecond, long copyBytes, long gemmFlops, String gemmShape,
                    Stats copyTime, Stats gemmTime) {

    /** A 1x1 convolution of x [n, c, h, w] to k channels: an (n*h*w) x c by c x k product. */
    public record Gemm(int n, int c, int h, int w, int k) {
        public Gemm {
            if (n < 1 || c < 1 || h < 1 || w < 1 || k < 1) throw new IllegalArgumentException("matrix product dimensions must be >= 1");
        }

        long flops() {
            return 2L * n * h * w * c * k;
        }

        String shape() {
            return (long) n * h * w + "x" + c + " * " + c + "x" + k;
        }
    }

    /** For a GPU: 256 MiB buffers (far past any L2), products of 137, 34 and 17 GFLOP, 20 timed runs each. */
    public static final Sizes GPU = new Sizes(64L << 20,
            List.of(new Gemm(64, 1024, 32, 32, 1024), new Gemm(256, 256, 32, 32, 256), new Gemm(128, 256, 32, 32, 256)), 3, 20);
    /** For a CPU: 64 MiB buffers (past the last-level cache), products of 0.15 to 0.54 GFLOP, 5 timed runs each. */
    public static final Sizes CPU = new Sizes(16L << 20,
            List.of(new Gemm(4, 256, 32, 32, 256), new Gemm(16, 256, 16, 16, 256), new Gemm(16, 96, 32, 32, 48)), 1, 5);

    /**
     * @param copyElements float32 elements per copy buffer
     * @param warmup       untimed runs of each measurement first
     * @param repeats      timed runs of each
     */
    public record Sizes(long copyElements, List<Gemm> gemms, int warmup, int repeats) {
        public Sizes {
            if (copyElements < 1 || copyElements > Integer.MAX_VALUE) throw new IllegalArgumentException("copy size must be in [1, 2^31), got " + copyElements);
            if (gemms.isEmpty()) throw new IllegalArgumentException("peak measurement needs at least one matrix product");
            if (warmup < 0 || repeats < 1) throw new IllegalArgumentException("peak measurement needs warm-up >= 0 and repeats >= 1");
            gemms = List.copyOf(gemms);
        }
    }

    /** The two ceilings as summary lines of a report. */
    public void addNotes(Report report) {
        report.note("peak_bandwidth_gbs", bytesPerSecond / 1e9, String.format(Locale.ROOT,
                "peak bandwidth: %.1f GB/s, fastest copy of %d MiB (read + write counted; %s)",
                bytesPerSecond / 1e9, copyBytes / 2 >> 20, copyTime.describeMillis()));
        report.note("peak_gflops", flopsPerSecond / 1e9, String.format(Locale.ROOT,
                "peak arithmetic: %.1f GFLOP/s, fastest 1x1 convolution as a %s matrix product (%s)",
                flopsPerSecond / 1e9, gemmShape, gemmTime.describeMillis()));
    }

    public static Sizes sizesFor(Backend backend) {
        return backend.name().startsWith("cuda") ? GPU : CPU;
    }

    public static Peaks measure(Backend backend, Sizes sizes, long seed) {
        int warmup = sizes.warmup(), repeats = sizes.repeats();
        SplittableRandom rng = new SplittableRandom(seed);
        Stats copy;
        long copyBytes = 2 * sizes.copyElements() * DType.F32.bytes();
        int n = (int) sizes.copyElements();
        try (Tensor src = randomTensor(backend, rng, n); Tensor dst = randomTensor(backend, rng, n); OpTimer timer = backend.newTimer()) {
            copy = Stats.timed(timer, warmup, repeats, () -> backend.copy(src, dst, false));
        }
        Gemm best = null;
        Stats bestTime = null;
        Conv2d conv = new Conv2d(1, 0);
        for (Gemm g : sizes.gemms()) {
            try (Tensor x = randomTensor(backend, rng, g.n(), g.c(), g.h(), g.w()); Tensor w = randomTensor(backend, rng, g.k(), g.c(), 1, 1);
                 Tensor y = backend.allocate(DType.F32, g.n(), g.k(), g.h(), g.w()); OpTimer timer = backend.newTimer()) {
                Stats s = Stats.timed(timer, warmup, repeats, () -> backend.convForward(x, w, y, conv, false));
                if (best == null || g.flops() / s.min() > best.flops() / bestTime.min()) {
                    best = g;
                    bestTime = s;
                }
            }
        }
        return new Peaks(copyBytes / (copy.min() * 1e-9), best.flops() / (bestTime.min() * 1e-9), copyBytes, best.flops(), best.shape(),
                copy, bestTime);
    }

    /** A tensor of standard normal float32 values: never zeros, which some hardware handles faster than real data. */
    static Tensor randomTensor(Backend backend, SplittableRandom rng, int... shape) {
        Tensor t = backend.allocate(DType.F32, shape);
        float[] host = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < host.length; i++) host[i] = (float) rng.nextGaussian();
        backend.upload(host, t);
        return t;
    }
}
