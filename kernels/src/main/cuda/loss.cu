// Softmax cross-entropy of logits [N, K] (contiguous, row-major) against int32 labels [N], in ONE
// block (the launcher uses 1024 threads) so the batch totals are reduced on the device in a fixed
// order, with no atomics and no workspace: one warp per row, rows striding by the warp count.
// Per row, in double like the CPU backend (DenseF32.softmaxCrossEntropy), with m = max_j z_j and
// lse = m + log(sum_j exp(z_j - m)):
//   loss_row = lse - z_label,  dlogits_j = (exp(z_j - lse) - [j == label]) / N
//   top-k hit when fewer than k logits are strictly greater than z_label (k = 1 and 5; with K < 5
//   every label is a top-5 hit, i.e. top-5 means top-K).
// result (double[4]): [0] sum of the row losses / N, [1] top-1 hits, [2] top-5 hits, [3] the error
// word: 1 + the first row whose label is outside [0, K), or 0 when every label is valid (a bad row
// adds no loss and no hits and its dlogits row gets no one-hot term; the caller throws).
// dlogits may be null (evaluation).
#include "common.cuh"

// __launch_bounds__: the launcher's 1024 threads leave 64 registers a thread; without the bound,
// ptxas is free to use more and the launch would fail with "too many resources requested".
extern "C" __global__ void __launch_bounds__(DN_MAX_THREADS) softmax_xent_f32(const float* logits, const int* labels, float* dlogits,
                                            int n, int k, double* result) {
    __shared__ double sLoss[DN_MAX_THREADS / DN_WARP];
    __shared__ int sTop1[DN_MAX_THREADS / DN_WARP], sTop5[DN_MAX_THREADS / DN_WARP], sBad[DN_MAX_THREADS / DN_WARP];
    const unsigned full = 0xffffffffu;
    const int lane = threadIdx.x & (DN_WARP - 1), warp = threadIdx.x / DN_WARP, warps = blockDim.x / DN_WARP;
    double loss = 0.0;
    int top1 = 0, top5 = 0, bad = 0x7fffffff;
    for (int row = warp; row < n; row += warps) {
        const float* z = logits + (long long) row * k;
        float mf = -INFINITY;
        for (int j = lane; j < k; j += DN_WARP) mf = fmaxf(mf, z[j]);
        const double m = (double) __shfl_sync(full, dn_warp_max(mf), 0);
        double sum = 0.0;
        for (int j = lane; j < k; j += DN_WARP) sum += exp((double) z[j] - m);
        sum = __shfl_sync(full, dn_warp_sum(sum), 0);
        const double lse = m + log(sum);
        const int label = labels[row];
        const bool valid = label >= 0 && label < k;
        const float zl = valid ? z[label] : 0.0f;
        int greater = 0;
        for (int j = lane; j < k; j += DN_WARP) greater += z[j] > zl ? 1 : 0;
        greater = dn_warp_sum_int(greater);            // meaningful in lane 0 only
        if (lane == 0) {
            if (valid) {
                loss += lse - (double) zl;
                top1 += greater < 1 ? 1 : 0;
                top5 += greater < 5 ? 1 : 0;
            } else if (row < bad) {
                bad = row;
            }
        }
        if (dlogits != nullptr) {
            float* d = dlogits + (long long) row * k;
            for (int j = lane; j < k; j += DN_WARP) {
                const double pr = exp((double) z[j] - lse);
                d[j] = (float) ((pr - (j == label ? 1.0 : 0.0)) / (double) n);
            }
        }
    }
    if (lane == 0) {
        sLoss[warp] = loss;
        sTop1[warp] = top1;
        sTop5[warp] = top5;
        sBad[warp] = bad;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        double tl = 0.0;
        int t1 = 0, t5 = 0, b = 0x7fffffff;
        for (int i = 0; i < warps; i++) {
            tl += sLoss[i];
            t1 += sTop1[i];
            t5 += sTop5[i];
            b = min(b, sBad[i]);
        }
        result[0] = tl / (double) n;
        result[1] = (double) t1;
        result[2] = (double) t5;
        result[3] = b == 0x7fffffff ? 0.0 : (double) b + 1.0;
    }
}
