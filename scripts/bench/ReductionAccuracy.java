import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What accumulating the batch-norm reductions in float32 instead of float64 would cost in accuracy.
 * Consumer GPUs (RTX 30/40/50) run FP64 at 1/32-1/64 of FP32, and the chunked BN kernels
 * (bn_stats_partial_f32, bn_backward_reduce_f32) convert and add every element in double. This
 * replays their exact summation order on the CPU: chunks of whole samples (LaunchGeometry.chunks),
 * 256-thread blocks (blockDim.x = LaunchGeometry.blockWidth(hw)), each thread's strided run added
 * serially, then dn_block_sum's tree (warp shuffles 16, 8, 4, 2, 1, then the warps in order), then
 * the chunks in order, and finishes as bn_stats_finalize_f32 does. Each accumulation variant is
 * measured against a double-double sum of the same terms:
 *
 *   f64          every element in double (the kernels today)
 *   f32          every stage in float
 *   f32>f64      each thread's run in float, then the block tree and the chunks in double
 *   neumaier>f64 each thread's run in float with Neumaier compensation, then double as above
 *   neumaier32   Neumaier in float per thread, compensated (TwoSum) pairs through the tree and the chunks
 *
 * Statistics: x shifted by its first element (as the kernels do), sums of d and d^2; reported as
 * the float mean's error relative to the channel's std (what normalisation sees) and the float
 * variance's relative error. Backward: sums of g and g * (x - mean), g a gradient masked by the
 * ReLU (about half zeros); reported as the error over the sum of |terms| (the condition of the
 * sum), in units of float32's epsilon 2^-24. Deterministic for a seed.
 *
 * Usage: java scripts/bench/ReductionAccuracy.java [seed]
 */
public final class ReductionAccuracy {
    static final int THREADS = 256;
    static final String[] VARIANTS = {"f64", "f32", "f32>f64", "neumaier>f64", "neumaier32"};
    static final double EPS32 = Math.ulp(1.0f);

    public static void main(String[] args) {
        long seed = args.length > 0 ? Long.parseLong(args[0]) : 20261204L;
        System.out.printf(Locale.ROOT, "seed %d; errors: max / median over channels%n", seed);
        run("64 ch x 64x32x32, conv outputs: N(mu_c, s_c), mu_c ~ N(0, 0.5), s_c in [0.2, 2]", 64, 64, 32 * 32, 0.5, seed);
        run("256 ch x 64x56x56, conv outputs as above", 256, 64, 56 * 56, 0.5, seed + 1);
        run("64 ch x 64x32x32, far off zero: mu_c ~ N(0, 20) (cancellation)", 64, 64, 32 * 32, 20, seed + 2);
    }

    static void run(String title, int channels, int n, int hw, double meanSpread, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int v = VARIANTS.length;
        double[][] meanErr = new double[v][channels], varErr = new double[v][channels];
        double[][] gErr = new double[v][channels], gxErr = new double[v][channels];
        float[] x = new float[n * hw], g = new float[n * hw];
        for (int ch = 0; ch < channels; ch++) {
            double mu = rng.nextGaussian() * meanSpread, sd = 0.2 + 1.8 * rng.nextDouble();
            for (int i = 0; i < x.length; i++) x[i] = (float) (mu + sd * rng.nextGaussian());
            // statistics
            double shift = x[0];
            double[] exact = exactSums(x, i -> x[i] - shift, i -> {
                double d = x[i] - shift;
                return new double[] {d, d};
            });
            double m = (double) n * hw;
            double refMean = shift + exact[0] / m, refVar = exact[1] / m - (exact[0] / m) * (exact[0] / m);
            for (int k = 0; k < v; k++) {
                double[] s = sums(k, n, hw, x, null, (float) shift, 0f, true);
                double mm = s[0] / m, vv = s[1] / m - mm * mm;
                float mean = (float) (shift + mm), var = (float) Math.max(vv, 0);
                meanErr[k][ch] = Math.abs(mean - refMean) / Math.sqrt(refVar);
                varErr[k][ch] = Math.abs(var - refVar) / refVar;
            }
            // backward: g masked by a ReLU of the normalised x, about half zeros
            float muF = (float) refMean;
            for (int i = 0; i < g.length; i++) g[i] = x[i] > muF ? (float) (1e-3 * rng.nextGaussian()) : 0f;
            double[] eg = exactSums(x, i -> g[i], i -> new double[] {g[i], (double) x[i] - muF});
            double[] abs = absSums(x, g, muF);
            for (int k = 0; k < v; k++) {
                double[] s = sums(k, n, hw, x, g, 0f, muF, false);
                gErr[k][ch] = Math.abs(s[0] - eg[0]) / abs[0] / EPS32;
                gxErr[k][ch] = Math.abs(s[1] - eg[1]) / abs[1] / EPS32;
            }
        }
        System.out.printf(Locale.ROOT, "%n%s%n", title);
        System.out.printf(Locale.ROOT, "%-13s %22s %22s %22s %22s%n", "variant", "mean err / std", "var rel err",
                "sum g err (eps*sum|g|)", "sum g(x-mu) (eps*...)");
        for (int k = 0; k < v; k++) {
            System.out.printf(Locale.ROOT, "%-13s %22s %22s %22s %22s%n", VARIANTS[k], mm(meanErr[k], "%.1e"), mm(varErr[k], "%.1e"),
                    mm(gErr[k], "%.3f"), mm(gxErr[k], "%.3f"));
        }
    }

    static String mm(double[] a, String f) {
        double[] s = a.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, f + " / " + f, s[s.length - 1], s[s.length / 2]);
    }

    interface Term {
        double at(int i);
    }

    interface Pair {
        double[] at(int i);
    }

    /** Double-double sums of a(i) and of b(i)[0] * b(i)[1] (the product's error kept through fma). */
    static double[] exactSums(float[] x, Term a, Pair b) {
        double s1 = 0, c1 = 0, s2 = 0, c2 = 0;
        for (int i = 0; i < x.length; i++) {
            double t = a.at(i);
            double u = s1 + t, e = (s1 - (u - (u - s1))) + (t - (u - s1));
            s1 = u;
            c1 += e;
            double[] p = b.at(i);
            double prod = p[0] * p[1], perr = Math.fma(p[0], p[1], -prod);
            u = s2 + prod;
            e = (s2 - (u - (u - s2))) + (prod - (u - s2));
            s2 = u;
            c2 += e + perr;
        }
        return new double[] {s1 + c1, s2 + c2};
    }

    static double[] absSums(float[] x, float[] g, float mu) {
        double a = 0, b = 0;
        for (int i = 0; i < x.length; i++) {
            a += Math.abs(g[i]);
            b += Math.abs(g[i] * ((double) x[i] - mu));
        }
        return new double[] {a, b};
    }

    /**
     * The two sums as the kernel of variant k adds them. Statistics (stats): terms d = x - shift and
     * d^2; backward: g and g * (x - mu). Float variants form the terms in float, as a kernel would.
     */
    static double[] sums(int k, int n, int hw, float[] x, float[] g, float shift, float mu, boolean stats) {
        int chunks = Math.min((int) Math.max(1, Math.ceilDiv((long) n * hw, 4096)), Math.min(n, 64));
        int spc = Math.ceilDiv(n, chunks);
        chunks = Math.ceilDiv(n, spc);
        int bx = 32;
        while (bx < THREADS && bx < hw) bx <<= 1;
        int by = THREADS / bx;
        double[] hi = new double[2 * THREADS], lo = new double[2 * THREADS];
        double[][] chunkHi = new double[2][chunks], chunkLo = new double[2][chunks];
        for (int j = 0; j < chunks; j++) {
            int end = Math.min(n, (j + 1) * spc);
            for (int ty = 0; ty < by; ty++) {
                for (int tx = 0; tx < bx; tx++) {
                    int tid = tx + bx * ty;
                    double a64 = 0, b64 = 0;
                    float a = 0, b = 0, ca = 0, cb = 0;
                    for (int s = j * spc + ty; s < end; s += by) {
                        for (int p = tx; p < hw; p += bx) {
                            int i = s * hw + p;
                            if (k == 0) {
                                double t1 = stats ? (double) x[i] - shift : g[i];
                                double t2 = stats ? t1 * t1 : g[i] * ((double) x[i] - mu);
                                a64 += t1;
                                b64 += t2;
                            } else {
                                float t1 = stats ? x[i] - shift : g[i];
                                float t2 = stats ? t1 * t1 : g[i] * (x[i] - mu);
                                if (k <= 2) {
                                    a += t1;
                                    b += t2;
                                } else {
                                    float u = a + t1;
                                    ca += Math.abs(a) >= Math.abs(t1) ? (a - u) + t1 : (t1 - u) + a;
                                    a = u;
                                    u = b + t2;
                                    cb += Math.abs(b) >= Math.abs(t2) ? (b - u) + t2 : (t2 - u) + b;
                                    b = u;
                                }
                            }
                        }
                    }
                    switch (k) {
                        case 0 -> { hi[tid] = a64; hi[THREADS + tid] = b64; }
                        case 1, 2 -> { hi[tid] = a; hi[THREADS + tid] = b; }
                        case 3 -> { hi[tid] = (double) a + ca; hi[THREADS + tid] = (double) b + cb; }
                        default -> { hi[tid] = a; lo[tid] = ca; hi[THREADS + tid] = b; lo[THREADS + tid] = cb; }
                    }
                }
            }
            for (int q = 0; q < 2; q++) {
                double[] r = blockSum(k, hi, lo, q * THREADS);
                chunkHi[q][j] = r[0];
                chunkLo[q][j] = r[1];
            }
        }
        double[] out = new double[2];
        for (int q = 0; q < 2; q++) {
            if (k == 1) {
                float s = 0;
                for (int j = 0; j < chunks; j++) s += (float) chunkHi[q][j];
                out[q] = s;
            } else if (k == 4) {
                float s = 0, c = 0;
                for (int j = 0; j < chunks; j++) {
                    float t = (float) chunkHi[q][j], u = s + t;
                    c += twoSumErr(s, t, u) + (float) chunkLo[q][j];
                    s = u;
                }
                out[q] = (double) s + c;   // the finalising thread may add the pair in double: one per channel
            } else {
                double s = 0;
                for (int j = 0; j < chunks; j++) s += chunkHi[q][j];
                out[q] = s;
            }
        }
        return out;
    }

    /** dn_block_sum over 256 threads: per warp the shuffle-down tree, lane 0's value, then the warps in order. */
    static double[] blockSum(int k, double[] hi, double[] lo, int base) {
        double[] h = Arrays.copyOfRange(hi, base, base + THREADS), l = Arrays.copyOfRange(lo, base, base + THREADS);
        boolean f32 = k == 1 || k == 4;
        for (int w = 0; w < THREADS / 32; w++) {
            for (int o = 16; o > 0; o >>= 1) {
                for (int lane = 0; lane < o; lane++) {
                    int i = w * 32 + lane, jj = i + o;
                    if (k == 1) {
                        h[i] = (float) h[i] + (float) h[jj];
                    } else if (k == 4) {
                        float a = (float) h[i], b = (float) h[jj], u = a + b;
                        l[i] = (float) l[i] + (float) l[jj] + twoSumErr(a, b, u);
                        h[i] = u;
                    } else {
                        h[i] = h[i] + h[jj];
                    }
                }
            }
        }
        double total = 0, comp = 0;
        for (int w = 0; w < THREADS / 32; w++) {
            double t = h[w * 32];
            if (!f32) {
                total += t;
            } else if (k == 1) {
                total = (float) total + (float) t;
            } else {
                float a = (float) total, b = (float) t, u = a + b;
                comp = (float) comp + (float) l[w * 32] + twoSumErr(a, b, u);
                total = u;
            }
        }
        return new double[] {total, comp};
    }

    /** The rounding error of u = a + b in float (Knuth's TwoSum). */
    static float twoSumErr(float a, float b, float u) {
        float bb = u - a;
        return (a - (u - bb)) + (b - bb);
    }
}
