package org.densenet.cli.bench;

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
 * arithmetic rate from a large 1x1 convolution, which is a matrix product (2*M*N*K over time).
 * Both use random data and report the median of their repeats after warm-up.
 *
 * @param copyBytes bytes one copy moves (read + write)
 * @param gemmFlops FLOPs of one product
 */
public record Peaks(double bytesPerSecond, double flopsPerSecond, long copyBytes, long gemmFlops, String gemmShape,
                    Stats copyTime, Stats gemmTime) {

    /** Sizes for a GPU: 256 MiB buffers (far past any L2) and a 137 GFLOP product, 20 timed runs each. */
    public static final Sizes GPU = new Sizes(64L << 20, new int[] {64, 1024, 32, 32}, 1024, 3, 20);
    /** Sizes for a CPU: 64 MiB buffers (past the last-level cache) and a 0.5 GFLOP product, 5 timed runs each. */
    public static final Sizes CPU = new Sizes(16L << 20, new int[] {4, 256, 32, 32}, 256, 1, 5);

    /**
     * @param copyElements float32 elements per copy buffer; gemmInput [N, C, H, W] times a [K, C, 1, 1] filter
     * @param warmup       untimed runs of each first
     * @param repeats      timed runs of each; the median is the peak
     */
    public record Sizes(long copyElements, int[] gemmInput, int gemmOutChannels, int warmup, int repeats) {
        public Sizes {
            if (copyElements < 1 || copyElements > Integer.MAX_VALUE) throw new IllegalArgumentException("copy size must be in [1, 2^31), got " + copyElements);
            if (gemmInput.length != 4 || gemmOutChannels < 1) throw new IllegalArgumentException("matrix product input must be [N, C, H, W]");
            if (warmup < 0 || repeats < 1) throw new IllegalArgumentException("peak measurement needs warm-up >= 0 and repeats >= 1");
            gemmInput = gemmInput.clone();
        }
    }

    /** The two ceilings as summary lines of a report. */
    public void addNotes(Report report) {
        report.note("peak_bandwidth_gbs", bytesPerSecond / 1e9, String.format(Locale.ROOT,
                "peak bandwidth: %.1f GB/s (copy of %d MiB, read + write counted; %s)", bytesPerSecond / 1e9, copyBytes / 2 >> 20, copyTime.describeMillis()));
        report.note("peak_gflops", flopsPerSecond / 1e9, String.format(Locale.ROOT,
                "peak arithmetic: %.1f GFLOP/s (1x1 convolution as a %s matrix product; %s)", flopsPerSecond / 1e9, gemmShape, gemmTime.describeMillis()));
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
        int[] xs = sizes.gemmInput();
        int[] ws = {sizes.gemmOutChannels(), xs[1], 1, 1};
        int[] ys = {xs[0], sizes.gemmOutChannels(), xs[2], xs[3]};
        long flops = 2L * Tensor.numel(ys) * xs[1];
        Conv2d conv = new Conv2d(1, 0);
        Stats gemm;
        try (Tensor x = randomTensor(backend, rng, xs); Tensor w = randomTensor(backend, rng, ws); Tensor y = backend.allocate(DType.F32, ys);
             OpTimer timer = backend.newTimer()) {
            gemm = Stats.timed(timer, warmup, repeats, () -> backend.convForward(x, w, y, conv, false));
        }
        String shape = ys[0] * ys[2] * ys[3] + "x" + xs[1] + " * " + xs[1] + "x" + ys[1];
        return new Peaks(copyBytes / (copy.median() * 1e-9), flops / (gemm.median() * 1e-9), copyBytes, flops, shape, copy, gemm);
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
