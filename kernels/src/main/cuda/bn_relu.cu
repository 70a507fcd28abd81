// Batch-norm apply and backward, each optionally fused with ReLU, on channel slices [N, C, H, W].
//   bn_apply_f32:    y = relu?(gamma * (x - mean) / sqrt(var + eps) + beta); x and y may have
//                    different batch strides (e.g. a slice of the block storage into scratch).
//   bn_backward_f32: for training-mode BN whose mean/var came from this x. Per channel, with
//                    xhat = (x - mean) * invstd and dy' = dy masked by the recomputed ReLU:
//                      dbeta = sum dy', dgamma = sum dy' * xhat (over N, H, W; double accumulators)
//                      dx (=|+=) gamma * invstd * (dy' - dbeta / M - xhat * dgamma / M), M = N*H*W.
//                    One block per channel: pass 1 reduces, pass 2 writes dx.
#include "common.cuh"

// Rows are (sample, channel) pairs: blockDim.y/gridDim.y walk rows, blockDim.x/gridDim.x pixels.
extern "C" __global__ void bn_apply_f32(const float* x, long long xns, float* y, long long yns,
                                        int n, int c, long long hw,
                                        const float* mean, const float* var, const float* gamma, const float* beta,
                                        float eps, int relu) {
    DN_ROWS_LOOP(r, (long long) n * c) {
        const long long s = r / c;
        const int ch = (int) (r - s * c);
        const float m = mean[ch], g = gamma[ch], b = beta[ch];
        const float invstd = dn_invstd(var[ch], eps);
        const float* xr = x + s * xns + ch * hw;
        float* yr = y + s * yns + ch * hw;
        DN_COLS_LOOP(p, hw) {
            const float v = dn_bn_value(xr[p], m, invstd, g, b);
            yr[p] = (relu && v < 0.0f) ? 0.0f : v;
        }
    }
}

// Block: blockDim.x walks pixels, blockDim.y samples; gridDim.x walks channels.
extern "C" __global__ void bn_backward_f32(const float* x, long long xns, const float* dy, long long dyns,
                                           float* dx, long long dxns, int n, int c, long long hw,
                                           const float* mean, const float* var, const float* gamma, const float* beta,
                                           float eps, int relu, int accumulate, float* dgamma, float* dbeta) {
    for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
        const float m = mean[ch], g = gamma[ch], b = beta[ch];
        const float invstd = dn_invstd(var[ch], eps);
        const long long cofs = (long long) ch * hw;
        double sdy = 0.0, sdyx = 0.0;
        for (int s = threadIdx.y; s < n; s += blockDim.y) {
            const float* xr = x + s * xns + cofs;
            const float* dyr = dy + s * dyns + cofs;
            for (long long p = threadIdx.x; p < hw; p += blockDim.x) {
                const float xv = xr[p];
                float d = dyr[p];
                if (relu && !(dn_bn_value(xv, m, invstd, g, b) > 0.0f)) d = 0.0f;
                sdy += (double) d;
                sdyx += (double) d * (double) ((xv - m) * invstd);
            }
        }
        sdy = dn_block_sum(sdy);
        sdyx = dn_block_sum(sdyx);
        if (threadIdx.x == 0 && threadIdx.y == 0) {
            dbeta[ch] = (float) sdy;
            dgamma[ch] = (float) sdyx;
        }
        const double count = (double) n * (double) hw;
        const float k1 = (float) (sdy / count), k2 = (float) (sdyx / count);
        const float gi = g * invstd;
        for (int s = threadIdx.y; s < n; s += blockDim.y) {
            const float* xr = x + s * xns + cofs;
            const float* dyr = dy + s * dyns + cofs;
            float* dxr = dx + s * dxns + cofs;
            for (long long p = threadIdx.x; p < hw; p += blockDim.x) {
                const float xv = xr[p];
                float d = dyr[p];
                if (relu && !(dn_bn_value(xv, m, invstd, g, b) > 0.0f)) d = 0.0f;
                const float xhat = (xv - m) * invstd;
                const float v = gi * (d - k1 - xhat * k2);
                dxr[p] = accumulate ? dxr[p] + v : v;
            }
        }
    }
}
