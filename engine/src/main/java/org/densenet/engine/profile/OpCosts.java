package org.densenet.engine.profile;

import org.densenet.engine.Tensor;

/**
 * FLOPs and minimum bytes of every backend op, as pure functions of shapes. The counting rules
 * (also in docs/BENCHMARKS.md):
 * <ul>
 *   <li>A multiply-add is 2 FLOPs; a comparison, exp, sqrt or max is 1. Per-channel set-up of
 *       batch norm (O(C) work beside O(N*C*H*W)) is not counted.</li>
 *   <li>Bytes: every input element read once, every output element written once; an output
 *       that is accumulated into ({@code accumulate}) is also read, and costs one add per element.</li>
 *   <li>Shapes: activations x [N, C, H, W], filters w [K, C, R, S], conv outputs y [N, K, P, Q].</li>
 * </ul>
 * {@code eb} is the element size in bytes of the floating tensors; labels are 4-byte ints.
 */
public final class OpCosts {
    private OpCosts() {
    }

    /** 2*N*K*P*Q*C*R*S for the products; reads x and w, writes y. */
    public static OpCost convForward(int[] x, int[] w, int[] y, int eb, boolean accumulate) {
        long macs = Tensor.numel(y) * w[1] * w[2] * w[3];
        return new OpCost(2 * macs + acc(y, accumulate), eb * (Tensor.numel(x) + Tensor.numel(w) + out(y, accumulate)));
    }

    /** Same products as the forward pass; reads dy and w, writes dx. */
    public static OpCost convBackwardData(int[] dy, int[] w, int[] dx, int eb, boolean accumulate) {
        long macs = Tensor.numel(dy) * w[1] * w[2] * w[3];
        return new OpCost(2 * macs + acc(dx, accumulate), eb * (Tensor.numel(dy) + Tensor.numel(w) + out(dx, accumulate)));
    }

    /** Same products as the forward pass; reads x and dy, writes dw. */
    public static OpCost convBackwardFilter(int[] x, int[] dy, int[] dw, int eb, boolean accumulate) {
        long macs = Tensor.numel(dy) * dw[1] * dw[2] * dw[3];
        return new OpCost(2 * macs + acc(dw, accumulate), eb * (Tensor.numel(x) + Tensor.numel(dy) + out(dw, accumulate)));
    }

    /** Sum (1) and sum of squares (2) per element; reads x, writes mean and var. */
    public static OpCost batchNormStatistics(int[] x, int eb) {
        return new OpCost(3 * Tensor.numel(x), eb * (Tensor.numel(x) + 2L * x[1]));
    }

    /** Two blends and the unbiasing factor per channel; reads batch and running stats, writes running stats. */
    public static OpCost batchNormUpdateRunning(int channels, int eb) {
        return new OpCost(7L * channels, eb * 6L * channels);
    }

    /** y = x * scale + shift (2), then max(., 0) (1); reads x, mean, var, gamma, beta, writes y. */
    public static OpCost batchNormApply(int[] x, boolean relu, int eb) {
        long n = Tensor.numel(x);
        return new OpCost((relu ? 3 : 2) * n, eb * (2 * n + 4L * x[1]));
    }

    /**
     * Per element: x-hat (2), the two reductions dbeta += dy (1) and dgamma += dy * x-hat (2),
     * dx = k * (dy - dbeta/M - x-hat * dgamma/M) (4); with ReLU the mask is recomputed from x
     * (affine 2, compare 1, select 1). Reads x, dy and four per-channel vectors, writes dx, dgamma, dbeta.
     */
    public static OpCost batchNormBackward(int[] x, boolean relu, boolean accumulateDx, int eb) {
        long n = Tensor.numel(x);
        long flops = (relu ? 13 : 9) * n + acc(x, accumulateDx);
        return new OpCost(flops, eb * (n + n + out(x, accumulateDx) + 6L * x[1]));
    }

    public static OpCost relu(int[] x, int eb) {
        long n = Tensor.numel(x);
        return new OpCost(n, eb * 2 * n);
    }

    /** One select per element; reads y and dy, writes dx. */
    public static OpCost reluBackward(int[] y, boolean accumulate, int eb) {
        long n = Tensor.numel(y);
        return new OpCost(n + acc(y, accumulate), eb * (2 * n + out(y, accumulate)));
    }

    /** k*k per output (k*k - 1 adds and a scale); reads x, writes y. */
    public static OpCost avgPoolForward(int[] x, int[] y, int kernel, int eb) {
        return new OpCost(Tensor.numel(y) * kernel * kernel, eb * (Tensor.numel(x) + Tensor.numel(y)));
    }

    /** Each output gradient scaled once and added into k*k inputs; reads dy, writes dx. */
    public static OpCost avgPoolBackward(int[] dy, int[] dx, int kernel, boolean accumulate, int eb) {
        return new OpCost(Tensor.numel(dy) * kernel * kernel + acc(dx, accumulate), eb * (Tensor.numel(dy) + out(dx, accumulate)));
    }

    /** k*k - 1 comparisons per output; reads x, writes y. */
    public static OpCost maxPoolForward(int[] x, int[] y, int kernel, int eb) {
        return new OpCost(Tensor.numel(y) * (kernel * kernel - 1), eb * (Tensor.numel(x) + Tensor.numel(y)));
    }

    /** k*k comparisons per output to find the first maximum; reads x, y, dy, writes dx. */
    public static OpCost maxPoolBackward(int[] x, int[] y, int[] dx, int kernel, boolean accumulate, int eb) {
        long ny = Tensor.numel(y);
        return new OpCost(ny * kernel * kernel + acc(dx, accumulate), eb * (Tensor.numel(x) + 2 * ny + out(dx, accumulate)));
    }

    /** H*W per output (H*W - 1 adds and a scale); reads x [N, C, H, W], writes y [N, C]. */
    public static OpCost globalAvgPoolForward(int[] x, int eb) {
        long n = Tensor.numel(x);
        return new OpCost(n, eb * (n + (long) x[0] * x[1]));
    }

    /** One scale per output gradient; reads dy [N, C], writes dx [N, C, H, W]. */
    public static OpCost globalAvgPoolBackward(int[] dx, boolean accumulate, int eb) {
        long nc = (long) dx[0] * dx[1];
        return new OpCost(nc + acc(dx, accumulate), eb * (nc + out(dx, accumulate)));
    }

    /** x [N, F], w [O, F]: 2*N*F*O for the product, N*O for the bias; reads x, w, b, writes y. */
    public static OpCost linearForward(int n, int f, int o, int eb) {
        long no = (long) n * o;
        return new OpCost(2 * no * f + no, eb * ((long) n * f + (long) o * f + o + no));
    }

    /** dw = dy^T x and (when wanted) dx = dy w: 2*N*F*O each; db = column sums of dy. */
    public static OpCost linearBackward(int n, int f, int o, boolean withDx, int eb) {
        long no = (long) n * o, nf = (long) n * f, of = (long) o * f;
        long flops = 2 * no * f + no + (withDx ? 2 * no * f : 0);
        long elems = nf + no + of + o + (withDx ? of + nf : 0);
        return new OpCost(flops, eb * elems);
    }

    /** Per logit: max, subtract, exp, sum (4); the gradient scales and subtracts the one-hot (2). */
    public static OpCost softmaxCrossEntropy(int n, int k, boolean withGradient, int eb) {
        long nk = (long) n * k;
        return new OpCost((withGradient ? 6 : 4) * nk, eb * (withGradient ? 2 * nk : nk) + 4L * n);
    }

    /** A compare and a scale per element (the random draw is not counted); writes y and the mask. */
    public static OpCost dropoutForward(int[] x, int eb) {
        long n = Tensor.numel(x);
        return new OpCost(2 * n, eb * 3 * n);
    }

    public static OpCost dropoutBackward(int[] dy, boolean accumulate, int eb) {
        long n = Tensor.numel(dy);
        return new OpCost(n + acc(dy, accumulate), eb * (2 * n + out(dy, accumulate)));
    }

    /**
     * Per parameter: weight decay g += wd*p (2), momentum buf = m*buf + g (2), Nesterov g += m*buf (2),
     * update p -= lr*g (2). Reads p and g, writes p; reads and writes buf when momentum is used.
     */
    public static OpCost sgdStep(long n, double weightDecay, double momentum, boolean nesterov, int eb) {
        long perElement = 2 + (weightDecay > 0 ? 2 : 0) + (momentum > 0 ? 2 : 0) + (nesterov ? 2 : 0);
        return new OpCost(perElement * n, eb * n * (momentum > 0 ? 5 : 3));
    }

    /** A multiply per element, read and written (the loss gradient scaled before backward). */
    public static OpCost lossScale(long n, int eb) {
        return new OpCost(n, eb * 2 * n);
    }

    /** A compare per gradient, each read once (the fused inf/NaN check of a loss-scaled step). */
    public static OpCost gradientCheck(long n, int eb) {
        return new OpCost(n, eb * n);
    }

    public static OpCost copy(int[] shape, boolean accumulate, int eb) {
        long n = Tensor.numel(shape);
        return new OpCost(acc(shape, accumulate), eb * (n + out(shape, accumulate)));
    }

    public static OpCost fill(int[] shape, int eb) {
        return new OpCost(0, eb * Tensor.numel(shape));
    }

    /** Host-device transfers: the bytes crossing the link, no arithmetic. */
    public static OpCost transfer(int[] shape, int eb) {
        return new OpCost(0, eb * Tensor.numel(shape));
    }

    /** An 8-bit image batch uploaded and normalised: a byte in and a float out per value, a division, a subtraction and a division. */
    public static OpCost imageUpload(int[] shape) {
        long n = Tensor.numel(shape);
        return new OpCost(3 * n, 5 * n);
    }

    private static long acc(int[] shape, boolean accumulate) {
        return accumulate ? Tensor.numel(shape) : 0;
    }

    /** Output elements moved: written, and read first when accumulated. */
    private static long out(int[] shape, boolean accumulate) {
        return (accumulate ? 2 : 1) * Tensor.numel(shape);
    }
}
