// Batch-norm apply and backward, each optionally fused with ReLU, on channel slices [N, C, H, W],
// computed the way the CPU backend (NormF32) computes them so the two agree to the last bit in the
// elementwise parts. Per channel, scale = gamma / sqrt(var + eps), shift = beta - mean * scale
// (double, rounded once to float; dn_bn_scale_shift).
//   bn_apply_f32:        y = relu?(x * scale + shift); x and y may have different batch strides
//                        (e.g. a slice of the block storage into a scratch buffer). A training-mode
//                        forward also moves the running statistics here (running_mean not null), so
//                        it needs no kernel of its own for them, and, given bn_stats_partial_f32's
//                        chunk sums (partial not null), finishes the batch statistics and writes
//                        mean and var instead of bn_stats_finalize_f32.
//   bn_backward_*:       training-mode BN whose mean/var came from this x. With g = dy masked by the
//                        recomputed ReLU (x * scale + shift <= 0 -> 0) and M = N*H*W:
//                          dbeta = sum g, dgamma = invstd * sum g * (x - mean)   (double accumulators)
//                          dx (=|+=) scale * g + b * (x - mean) + d,
//                          b = -scale * invstd^2 * sum(g * (x - mean)) / M, d = -scale * sum(g) / M.
//                        In two launches: _reduce (block (chunk j, channel ch): the two sums over the
//                        samples [j * spc, min(n, (j + 1) * spc)) into partial[ch][j][0..1]) and _dx
//                        (elementwise, rows x pixels), which also adds the chunks' sums up and writes
//                        dgamma and dbeta.
// Both elementwise kernels compute their per-channel constants once per row and block, in shared
// memory, rather than in a kernel of their own: a launch saved per op, and no double division or
// square root per element. Every row adds its channel's chunk sums in chunk order, so all rows of a
// channel get the same constants, the chunking depends on the shape only: deterministic.
// Activations (x, y, dy, dx) may be float32 or 16 bits (_bf16, _f16: loaded to float, every
// result rounded once as it is stored); statistics, parameters and their gradients are float32.
#include "common.cuh"

// Most rows one block of the rows geometry holds: its blockDim.x is at least a warp.
#define DN_MAX_ROWS (DN_MAX_THREADS / DN_WARP)

// Groups of blockDim.y rows, the same bound for every thread of the block, so that all of them reach
// the barriers inside (a row past the end only skips its work).
#define DN_ROW_GROUPS(base, rows)                                                                   \
    for (long long base = blockIdx.y * (long long) blockDim.y; base < (long long) (rows);          \
         base += (long long) gridDim.y * blockDim.y)

// Rows are (sample, channel) planes: blockDim.y/gridDim.y walk rows, blockDim.x/gridDim.x pixels.
template <typename T>
__device__ __forceinline__ void dn_bn_apply(const T* x, long long xns, T* y, long long yns,
                                            int n, int c, long long hw, float* mean, float* var,
                                            const float* gamma, const float* beta, double eps, int relu,
                                            double momentum, double unbias, float* running_mean, float* running_var,
                                            const double* partial, int chunks) {
    __shared__ float coef[DN_MAX_ROWS][2];
    const long long rows = (long long) n * c;
    DN_ROW_GROUPS(base, rows) {
        const long long r = base + threadIdx.y;
        long long s = 0;
        int ch = 0;
        if (r < rows) dn_row_split(r, c, &s, &ch);
        if (r < rows && threadIdx.x == 0) {
            // exactly one thread per channel writes: sample 0's row in the first column of blocks
            const bool owner = s == 0 && blockIdx.x == 0;
            float m, v;
            if (partial != nullptr) {
                // every row finishes the same sums in the same order: the same bits in every row; x
                // is not y (the launcher's rule), so sample 0's first value is still the shift
                dn_bn_stats_finish(partial, ch, chunks, dn_ld(x[(long long) ch * hw]), (double) n * (double) hw, &m, &v);
                if (owner) {
                    mean[ch] = m;
                    var[ch] = v;
                }
            } else {
                m = mean[ch];
                v = var[ch];
            }
            dn_bn_scale_shift(m, v, gamma[ch], beta[ch], eps, &coef[threadIdx.y][0], &coef[threadIdx.y][1]);
            if (running_mean != nullptr && owner) dn_bn_running_update(m, v, momentum, unbias, &running_mean[ch], &running_var[ch]);
        }
        __syncthreads();
        if (r < rows) {
            const float sc = coef[threadIdx.y][0], sh = coef[threadIdx.y][1];
            const T* xr = x + s * xns + ch * hw;
            T* yr = y + s * yns + ch * hw;
            DN_COLS_LOOP(p, hw) {
                const float v = dn_bn_value(dn_ld(xr[p]), sc, sh);
                yr[p] = dn_st<T>(relu ? dn_relu(v) : v);
            }
        }
        __syncthreads();   // the next group overwrites coef
    }
}

extern "C" __global__ void bn_apply_f32(const float* x, long long xns, float* y, long long yns,
                                        int n, int c, long long hw, float* mean, float* var,
                                        const float* gamma, const float* beta, double eps, int relu,
                                        double momentum, double unbias, float* running_mean, float* running_var,
                                        const double* partial, int chunks) {
    dn_bn_apply(x, xns, y, yns, n, c, hw, mean, var, gamma, beta, eps, relu, momentum, unbias, running_mean, running_var,
                partial, chunks);
}
extern "C" __global__ void bn_apply_bf16(const __nv_bfloat16* x, long long xns, __nv_bfloat16* y, long long yns,
                                         int n, int c, long long hw, float* mean, float* var,
                                         const float* gamma, const float* beta, double eps, int relu,
                                         double momentum, double unbias, float* running_mean, float* running_var,
                                         const double* partial, int chunks) {
    dn_bn_apply(x, xns, y, yns, n, c, hw, mean, var, gamma, beta, eps, relu, momentum, unbias, running_mean, running_var,
                partial, chunks);
}
extern "C" __global__ void bn_apply_f16(const __half* x, long long xns, __half* y, long long yns,
                                        int n, int c, long long hw, float* mean, float* var,
                                        const float* gamma, const float* beta, double eps, int relu,
                                        double momentum, double unbias, float* running_mean, float* running_var,
                                        const double* partial, int chunks) {
    dn_bn_apply(x, xns, y, yns, n, c, hw, mean, var, gamma, beta, eps, relu, momentum, unbias, running_mean, running_var,
                partial, chunks);
}

// Block: blockDim.x walks pixels, blockDim.y the samples of chunk blockIdx.x; blockIdx.y the channel.
template <typename T>
__device__ __forceinline__ void dn_bn_backward_reduce(const T* x, long long xns, const T* dy, long long dyns,
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
                const T* xr = x + s * xns + cofs;
                const T* dyr = dy + s * dyns + cofs;
                for (long long p = threadIdx.x; p < hw; p += blockDim.x) {
                    const float xv = dn_ld(xr[p]);
                    const float g = (relu && dn_bn_value(xv, sc, sh) <= 0.0f) ? 0.0f : dn_ld(dyr[p]);
                    sumG += (double) g;
                    sumGX += (double) g * ((double) xv - mu);
                }
            }
            dn_store_chunk_sums(sumG, sumGX, partial, ch, chunks, j);
        }
    }
}

extern "C" __global__ void bn_backward_reduce_f32(const float* x, long long xns, const float* dy, long long dyns,
                                                  int n, int c, long long hw, int spc, int chunks,
                                                  const float* mean, const float* var, const float* gamma, const float* beta,
                                                  double eps, int relu, double* partial) {
    dn_bn_backward_reduce(x, xns, dy, dyns, n, c, hw, spc, chunks, mean, var, gamma, beta, eps, relu, partial);
}
extern "C" __global__ void bn_backward_reduce_bf16(const __nv_bfloat16* x, long long xns, const __nv_bfloat16* dy, long long dyns,
                                                   int n, int c, long long hw, int spc, int chunks,
                                                   const float* mean, const float* var, const float* gamma, const float* beta,
                                                   double eps, int relu, double* partial) {
    dn_bn_backward_reduce(x, xns, dy, dyns, n, c, hw, spc, chunks, mean, var, gamma, beta, eps, relu, partial);
}
extern "C" __global__ void bn_backward_reduce_f16(const __half* x, long long xns, const __half* dy, long long dyns,
                                                  int n, int c, long long hw, int spc, int chunks,
                                                  const float* mean, const float* var, const float* gamma, const float* beta,
                                                  double eps, int relu, double* partial) {
    dn_bn_backward_reduce(x, xns, dy, dyns, n, c, hw, spc, chunks, mean, var, gamma, beta, eps, relu, partial);
}

// Channel ch's backward constants k = (scale, shift, b, d) from its chunk sums, folded in double as
// the CPU backend folds them; dgamma and dbeta too when asked (not null).
__device__ __forceinline__ void dn_bn_backward_finish(const double* partial, int ch, int chunks, double count,
                                                      float mean, float var, float gamma, float beta, double eps,
                                                      float* k, float* dgamma, float* dbeta) {
    double sumG, sumGX;
    dn_load_chunk_sums(partial, ch, chunks, &sumG, &sumGX);
    dn_bn_scale_shift(mean, var, gamma, beta, eps, &k[0], &k[1]);
    const double scale = __ddiv_rn((double) gamma, __dsqrt_rn(__dadd_rn((double) var, eps)));
    const double invstd = __ddiv_rn(1.0, __dsqrt_rn(__dadd_rn((double) var, eps)));
    k[2] = (float) __ddiv_rn(__dmul_rn(__dmul_rn(__dmul_rn(-scale, invstd), invstd), sumGX), count);
    k[3] = (float) __ddiv_rn(__dmul_rn(-scale, sumG), count);
    if (dgamma != nullptr) {
        *dbeta = (float) sumG;
        *dgamma = (float) __dmul_rn(sumGX, invstd);
    }
}

// Rows are (sample, channel) planes, as in bn_apply_f32. dx may be dy itself (same place, same
// thread). partial holds bn_backward_reduce_f32's chunk sums.
template <typename T>
__device__ __forceinline__ void dn_bn_backward_dx(const T* x, long long xns, const T* dy, long long dyns,
                                                  T* dx, long long dxns, int n, int c, long long hw, int chunks,
                                                  const double* partial, const float* mean, const float* var,
                                                  const float* gamma, const float* beta, double eps, int relu, int accumulate,
                                                  float* dgamma, float* dbeta) {
    __shared__ float coef[DN_MAX_ROWS][4];
    const long long rows = (long long) n * c;
    DN_ROW_GROUPS(base, rows) {
        const long long r = base + threadIdx.y;
        long long s = 0;
        int ch = 0;
        if (r < rows) dn_row_split(r, c, &s, &ch);
        if (r < rows && threadIdx.x == 0) {
            // exactly one thread per channel writes its dgamma and dbeta: sample 0's row in the first column of blocks
            const bool owner = s == 0 && blockIdx.x == 0;
            dn_bn_backward_finish(partial, ch, chunks, (double) n * (double) hw, mean[ch], var[ch], gamma[ch], beta[ch], eps,
                                  coef[threadIdx.y], owner ? &dgamma[ch] : nullptr, owner ? &dbeta[ch] : nullptr);
        }
        __syncthreads();
        if (r < rows) {
            const float* k = coef[threadIdx.y];
            const float sc = k[0], sh = k[1], b = k[2], d = k[3], muF = mean[ch];
            const long long cofs = (long long) ch * hw;
            const T* xr = x + s * xns + cofs;
            const T* dyr = dy + s * dyns + cofs;
            T* dxr = dx + s * dxns + cofs;
            DN_COLS_LOOP(p, hw) {
                const float xv = dn_ld(xr[p]);
                const float g = (relu && dn_bn_value(xv, sc, sh) <= 0.0f) ? 0.0f : dn_ld(dyr[p]);
                const float v = __fadd_rn(__fadd_rn(__fmul_rn(sc, g), __fmul_rn(b, __fsub_rn(xv, muF))), d);
                dxr[p] = dn_st<T>(accumulate ? __fadd_rn(dn_ld(dxr[p]), v) : v);
            }
        }
        __syncthreads();   // the next group overwrites coef
    }
}

extern "C" __global__ void bn_backward_dx_f32(const float* x, long long xns, const float* dy, long long dyns,
                                              float* dx, long long dxns, int n, int c, long long hw, int chunks,
                                              const double* partial, const float* mean, const float* var,
                                              const float* gamma, const float* beta, double eps, int relu, int accumulate,
                                              float* dgamma, float* dbeta) {
    dn_bn_backward_dx(x, xns, dy, dyns, dx, dxns, n, c, hw, chunks, partial, mean, var, gamma, beta, eps, relu, accumulate,
                      dgamma, dbeta);
}
extern "C" __global__ void bn_backward_dx_bf16(const __nv_bfloat16* x, long long xns, const __nv_bfloat16* dy, long long dyns,
                                               __nv_bfloat16* dx, long long dxns, int n, int c, long long hw, int chunks,
                                               const double* partial, const float* mean, const float* var,
                                               const float* gamma, const float* beta, double eps, int relu, int accumulate,
                                               float* dgamma, float* dbeta) {
    dn_bn_backward_dx(x, xns, dy, dyns, dx, dxns, n, c, hw, chunks, partial, mean, var, gamma, beta, eps, relu, accumulate,
                      dgamma, dbeta);
}
extern "C" __global__ void bn_backward_dx_f16(const __half* x, long long xns, const __half* dy, long long dyns,
                                              __half* dx, long long dxns, int n, int c, long long hw, int chunks,
                                              const double* partial, const float* mean, const float* var,
                                              const float* gamma, const float* beta, double eps, int relu, int accumulate,
                                              float* dgamma, float* dbeta) {
    dn_bn_backward_dx(x, xns, dy, dyns, dx, dxns, n, c, hw, chunks, partial, mean, var, gamma, beta, eps, relu, accumulate,
                      dgamma, dbeta);
}
