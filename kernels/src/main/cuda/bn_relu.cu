// Batch-norm apply and backward, each optionally fused with ReLU, on channel slices [N, C, H, W],
// computed the way the CPU backend (NormF32) computes them so the two agree to the last bit in the
// elementwise parts. Per channel, scale = gamma / sqrt(var + eps), shift = beta - mean * scale
// (double, rounded once to float; dn_bn_scale_shift).
//   bn_apply_f32:    y = relu?(x * scale + shift); x and y may have different batch strides (e.g.
//                    a slice of the block storage into a scratch buffer).
//   bn_backward_f32: training-mode BN whose mean/var came from this x. With g = dy masked by the
//                    recomputed ReLU (x * scale + shift <= 0 -> 0) and M = N*H*W:
//                      dbeta = sum g, dgamma = invstd * sum g * (x - mean)   (double accumulators)
//                      dx (=|+=) scale * g + b * (x - mean) + d,
//                      b = -scale * invstd^2 * sum(g * (x - mean)) / M, d = -scale * sum(g) / M.
//                    One block per channel: pass 1 reduces, pass 2 writes dx.
#include "common.cuh"

// Rows are (sample, channel) planes: blockDim.y/gridDim.y walk rows, blockDim.x/gridDim.x pixels.
extern "C" __global__ void bn_apply_f32(const float* x, long long xns, float* y, long long yns,
                                        int n, int c, long long hw,
                                        const float* mean, const float* var, const float* gamma, const float* beta,
                                        double eps, int relu) {
    DN_ROWS_LOOP(r, (long long) n * c) {
        const long long s = r / c;
        const int ch = (int) (r - s * c);
        float sc, sh;
        dn_bn_scale_shift(mean[ch], var[ch], gamma[ch], beta[ch], eps, &sc, &sh);
        const float* xr = x + s * xns + ch * hw;
        float* yr = y + s * yns + ch * hw;
        DN_COLS_LOOP(p, hw) {
            const float v = dn_bn_value(xr[p], sc, sh);
            yr[p] = relu ? dn_relu(v) : v;
        }
    }
}

// Block: blockDim.x walks pixels, blockDim.y samples; gridDim.x walks channels.
extern "C" __global__ void bn_backward_f32(const float* x, long long xns, const float* dy, long long dyns,
                                           float* dx, long long dxns, int n, int c, long long hw,
                                           const float* mean, const float* var, const float* gamma, const float* beta,
                                           double eps, int relu, int accumulate, float* dgamma, float* dbeta) {
    for (int ch = blockIdx.x; ch < c; ch += gridDim.x) {
        float sc, sh;
        dn_bn_scale_shift(mean[ch], var[ch], gamma[ch], beta[ch], eps, &sc, &sh);
        const float muF = mean[ch];
        const double mu = (double) muF;
        const long long cofs = (long long) ch * hw;
        double sumG = 0.0, sumGX = 0.0;
        for (int s = threadIdx.y; s < n; s += blockDim.y) {
            const float* xr = x + s * xns + cofs;
            const float* dyr = dy + s * dyns + cofs;
            for (long long p = threadIdx.x; p < hw; p += blockDim.x) {
                const float xv = xr[p];
                const float g = (relu && dn_bn_value(xv, sc, sh) <= 0.0f) ? 0.0f : dyr[p];
                sumG += (double) g;
                sumGX += (double) g * ((double) xv - mu);
            }
        }
        sumG = dn_block_sum(sumG);
        sumGX = dn_block_sum(sumGX);
        const double scale = __ddiv_rn((double) gamma[ch], __dsqrt_rn(__dadd_rn((double) var[ch], eps)));
        const double invstd = __ddiv_rn(1.0, __dsqrt_rn(__dadd_rn((double) var[ch], eps)));
        const double count = (double) n * (double) hw;
        if (threadIdx.x == 0 && threadIdx.y == 0) {
            dbeta[ch] = (float) sumG;
            dgamma[ch] = (float) __dmul_rn(sumGX, invstd);
        }
        const float a = sc;
        const float b = (float) __ddiv_rn(__dmul_rn(__dmul_rn(__dmul_rn(-scale, invstd), invstd), sumGX), count);
        const float d = (float) __ddiv_rn(__dmul_rn(-scale, sumG), count);
        for (int s = threadIdx.y; s < n; s += blockDim.y) {
            const float* xr = x + s * xns + cofs;
            const float* dyr = dy + s * dyns + cofs;
            float* dxr = dx + s * dxns + cofs;
            for (long long p = threadIdx.x; p < hw; p += blockDim.x) {
                const float xv = xr[p];
                const float g = (relu && dn_bn_value(xv, sc, sh) <= 0.0f) ? 0.0f : dyr[p];
                const float v = __fadd_rn(__fadd_rn(__fmul_rn(a, g), __fmul_rn(b, __fsub_rn(xv, muF))), d);
                dxr[p] = accumulate ? __fadd_rn(dxr[p], v) : v;
            }
        }
    }
}
