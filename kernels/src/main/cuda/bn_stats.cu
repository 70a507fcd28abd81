// Batch-norm statistics of a channel slice x [N, C, H, W] (batch stride xns):
//   bn_stats_f32:          mean[c] and biased var[c] over (N, H, W), one block per channel.
//   bn_running_update_f32: running = (1 - m) * running + m * batch, the variance made unbiased by
//                          count / (count - 1) (PyTorch's rule), in double like the CPU backend.
// Numerics: each channel's values are shifted by its first element and the shifted sum and sum of
// squares are accumulated in double, so var = E[d^2] - E[d]^2 loses nothing to cancellation at
// float32 precision. Block shape: blockDim.x walks pixels, blockDim.y walks samples.
#include "common.cuh"

extern "C" __global__ void bn_stats_f32(const float* x, long long xns, int n, int c, long long hw,
                                        float* mean, float* var) {
    for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
        const float* xc = x + (long long) ch * hw;                 // sample 0 of this channel
        const double shift = (double) xc[0];
        double s1 = 0.0, s2 = 0.0;
        for (int s = threadIdx.y; s < n; s += blockDim.y) {
            const float* row = xc + (long long) s * xns;
            for (long long p = threadIdx.x; p < hw; p += blockDim.x) {
                double d = (double) row[p] - shift;
                s1 += d;
                s2 += d * d;
            }
        }
        s1 = dn_block_sum(s1);
        s2 = dn_block_sum(s2);
        if (threadIdx.x == 0 && threadIdx.y == 0) {
            const double m = (double) n * (double) hw;
            const double mu = s1 / m;
            const double v = s2 / m - mu * mu;
            mean[ch] = (float) (shift + mu);
            var[ch] = (float) (v > 0.0 ? v : 0.0);
        }
    }
}

// In double, rounded once, as the CPU backend does; unbias = count / (count - 1) (1 when count is 1)
// comes from the launcher.
extern "C" __global__ void bn_running_update_f32(const float* mean, const float* var, int c, double momentum,
                                                 double unbias, float* running_mean, float* running_var) {
    for (int ch = blockIdx.x * blockDim.x + threadIdx.x; ch < c; ch += gridDim.x * blockDim.x) {
        const double keep = 1.0 - momentum;
        running_mean[ch] = (float) __dadd_rn(__dmul_rn(keep, (double) running_mean[ch]), __dmul_rn(momentum, (double) mean[ch]));
        running_var[ch] = (float) __dadd_rn(__dmul_rn(keep, (double) running_var[ch]),
                                            __dmul_rn(__dmul_rn(momentum, (double) var[ch]), unbias));
    }
}
