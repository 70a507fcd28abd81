// Batch-norm apply and backward, each optionally fused with ReLU, on channel slices [N, C, H, W],
// computed the way the CPU backend (NormF32) computes them so the two agree to the last bit in the
// elementwise parts. Per channel, scale = gamma / sqrt(var + eps), shift = beta - mean * scale
// (double, rounded once to float; dn_bn_scale_shift).
//   bn_scale_shift_f32:  coef[c][0..1] = (scale, shift), one thread per channel, so that the
//                        elementwise kernel does no double division or square root per element.
//   bn_apply_f32:        y = relu?(x * scale + shift); x and y may have different batch strides
//                        (e.g. a slice of the block storage into a scratch buffer).
//   bn_backward_*:       training-mode BN whose mean/var came from this x. With g = dy masked by the
//                        recomputed ReLU (x * scale + shift <= 0 -> 0) and M = N*H*W:
//                          dbeta = sum g, dgamma = invstd * sum g * (x - mean)   (double accumulators)
//                          dx (=|+=) scale * g + b * (x - mean) + d,
//                          b = -scale * invstd^2 * sum(g * (x - mean)) / M, d = -scale * sum(g) / M.
//                        In three launches, so that each channel's sums are spread over many blocks:
//                        _reduce (block (chunk j, channel ch): the two sums over the samples
//                        [j * spc, min(n, (j + 1) * spc)) into partial[ch][j][0..1]), _finalize (one
//                        thread per channel: the chunks' sums in chunk order, dgamma, dbeta and
//                        coef[c][0..3] = (scale, shift, b, d)), _dx (elementwise, rows x pixels).
// The chunking depends on the shape only and every sum runs in a fixed order: deterministic.
#include "common.cuh"

extern "C" __global__ void bn_scale_shift_f32(const float* mean, const float* var, const float* gamma, const float* beta,
                                              double eps, int c, float* coef) {
    for (int ch = blockIdx.x * blockDim.x + threadIdx.x; ch < c; ch += gridDim.x * blockDim.x) {
        dn_bn_scale_shift(mean[ch], var[ch], gamma[ch], beta[ch], eps, &coef[2 * ch], &coef[2 * ch + 1]);
    }
}

// Rows are (sample, channel) planes: blockDim.y/gridDim.y walk rows, blockDim.x/gridDim.x pixels.
extern "C" __global__ void bn_apply_f32(const float* x, long long xns, float* y, long long yns,
                                        int n, int c, long long hw, const float* coef, int relu) {
    DN_ROWS_LOOP(r, (long long) n * c) {
        long long s;
        int ch;
        dn_row_split(r, c, &s, &ch);
        const float sc = coef[2 * ch], sh = coef[2 * ch + 1];
        const float* xr = x + s * xns + ch * hw;
        float* yr = y + s * yns + ch * hw;
        DN_COLS_LOOP(p, hw) {
            const float v = dn_bn_value(xr[p], sc, sh);
            yr[p] = relu ? dn_relu(v) : v;
        }
    }
}

// Block: blockDim.x walks pixels, blockDim.y the samples of chunk blockIdx.x; blockIdx.y the channel.
extern "C" __global__ void bn_backward_reduce_f32(const float* x, long long xns, const float* dy, long long dyns,
                                                  int n, int c, long long hw, int spc, int chunks,
                                                  const float* mean, const float* var, const float* gamma, const float* beta,
                                                  double eps, int relu, double* partial) {
    for (int ch = blockIdx.y; ch < c; ch += gridDim.y) {
        float sc, sh;
        dn_bn_scale_shift(mean[ch], var[ch], gamma[ch], beta[ch], eps, &sc, &sh);
        const double mu = (double) mean[ch];
        const long long cofs = (long long) ch * hw;
        for (int j = blockIdx.x; j < chunks; j += gridDim.x) {
            const int end = min(n, (j + 1) * spc);
            double sumG = 0.0, sumGX = 0.0;
            for (int s = j * spc + threadIdx.y; s < end; s += blockDim.y) {
                const float* xr = x + s * xns + cofs;
                const float* dyr = dy + s * dyns + cofs;
                for (long long p = threadIdx.x; p < hw; p += blockDim.x) {
                    const float xv = xr[p];
                    const float g = (relu && dn_bn_value(xv, sc, sh) <= 0.0f) ? 0.0f : dyr[p];
                    sumG += (double) g;
                    sumGX += (double) g * ((double) xv - mu);
                }
            }
            dn_store_chunk_sums(sumG, sumGX, partial, ch, chunks, j);
        }
    }
}

extern "C" __global__ void bn_backward_finalize_f32(const double* partial, int n, int c, long long hw, int chunks,
                                                    const float* mean, const float* var, const float* gamma, const float* beta,
                                                    double eps, float* dgamma, float* dbeta, float* coef) {
    for (int ch = blockIdx.x * blockDim.x + threadIdx.x; ch < c; ch += gridDim.x * blockDim.x) {
        double sumG, sumGX;
        dn_load_chunk_sums(partial, ch, chunks, &sumG, &sumGX);
        float sc, sh;
        dn_bn_scale_shift(mean[ch], var[ch], gamma[ch], beta[ch], eps, &sc, &sh);
        const double scale = __ddiv_rn((double) gamma[ch], __dsqrt_rn(__dadd_rn((double) var[ch], eps)));
        const double invstd = __ddiv_rn(1.0, __dsqrt_rn(__dadd_rn((double) var[ch], eps)));
        const double count = (double) n * (double) hw;
        dbeta[ch] = (float) sumG;
        dgamma[ch] = (float) __dmul_rn(sumGX, invstd);
        float* k = coef + 4 * (long long) ch;
        k[0] = sc;
        k[1] = sh;
        k[2] = (float) __ddiv_rn(__dmul_rn(__dmul_rn(__dmul_rn(-scale, invstd), invstd), sumGX), count);
        k[3] = (float) __ddiv_rn(__dmul_rn(-scale, sumG), count);
    }
}

// Rows are (sample, channel) planes, as in bn_apply_f32. dx may be dy itself (same place, same thread).
extern "C" __global__ void bn_backward_dx_f32(const float* x, long long xns, const float* dy, long long dyns,
                                              float* dx, long long dxns, int n, int c, long long hw,
                                              const float* mean, const float* coef, int relu, int accumulate) {
    DN_ROWS_LOOP(r, (long long) n * c) {
        long long s;
        int ch;
        dn_row_split(r, c, &s, &ch);
        const float* k = coef + 4 * (long long) ch;
        const float sc = k[0], sh = k[1], b = k[2], d = k[3], muF = mean[ch];
        const long long cofs = (long long) ch * hw;
        const float* xr = x + s * xns + cofs;
        const float* dyr = dy + s * dyns + cofs;
        float* dxr = dx + s * dxns + cofs;
        DN_COLS_LOOP(p, hw) {
            const float xv = xr[p];
            const float g = (relu && dn_bn_value(xv, sc, sh) <= 0.0f) ? 0.0f : dyr[p];
            const float v = __fadd_rn(__fadd_rn(__fmul_rn(sc, g), __fmul_rn(b, __fsub_rn(xv, muF))), d);
            dxr[p] = accumulate ? __fadd_rn(dxr[p], v) : v;
        }
    }
}
