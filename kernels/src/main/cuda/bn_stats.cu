// Batch-norm statistics of a channel slice x [N, C, H, W] (batch stride xns), in two launches so
// that every channel's reduction is spread over many blocks (a 56x56 plane of 64 samples is 200k
// values; one block per channel left most of a large GPU idle while a few SMs reduced them):
//   bn_stats_partial_f32:  block (chunk j, channel ch) sums the shifted values d and d^2 of the
//                          samples [j * spc, min(n, (j + 1) * spc)) into partial[ch][j][0..1].
//   bn_stats_finalize_f32: one thread per channel adds its chunks' partials in chunk order and
//                          writes mean[c] and the biased var[c] over (N, H, W). A training-mode
//                          forward that normalises right away has bn_apply_f32 do this instead.
//   bn_running_update_f32: running = (1 - m) * running + m * batch, the variance made unbiased by
//                          count / (count - 1) (PyTorch's rule), in double like the CPU backend.
// Numerics: each channel's values are shifted by its first element (sample 0, pixel 0: the same
// shift in every chunk) and the shifted sums are accumulated in double, so var = E[d^2] - E[d]^2
// loses nothing to cancellation at float32 precision. The chunking depends on the shape only and
// every sum runs in a fixed order: the result does not depend on scheduling.
// Block shape: blockDim.x walks pixels, blockDim.y the samples of the chunk.
// x may be float32 or 16 bits (_bf16, _f16: loaded to float); the statistics are float32 always.
#include "common.cuh"

template <typename T>
__device__ __forceinline__ void dn_bn_stats_partial(const T* x, long long xns, int n, int c, long long hw,
                                                    int spc, int chunks, double* partial) {
    for (int ch = blockIdx.y; ch < c; ch += gridDim.y) {
        const T* xc = x + (long long) ch * hw;                     // sample 0 of this channel
        const double shift = (double) dn_ld(xc[0]);
        for (int j = blockIdx.x; j < chunks; j += gridDim.x) {
            const int end = min(n, (j + 1) * spc);
            double s1 = 0.0, s2 = 0.0;
            for (int s = j * spc + threadIdx.y; s < end; s += blockDim.y) {
                const T* row = xc + (long long) s * xns;
                for (long long p = threadIdx.x; p < hw; p += blockDim.x) {
                    const double d = (double) dn_ld(row[p]) - shift;
                    s1 += d;
                    s2 += d * d;
                }
            }
            dn_store_chunk_sums(s1, s2, partial, ch, chunks, j);
        }
    }
}

extern "C" __global__ void bn_stats_partial_f32(const float* x, long long xns, int n, int c, long long hw,
                                                int spc, int chunks, double* partial) {
    dn_bn_stats_partial(x, xns, n, c, hw, spc, chunks, partial);
}
extern "C" __global__ void bn_stats_partial_bf16(const __nv_bfloat16* x, long long xns, int n, int c, long long hw,
                                                 int spc, int chunks, double* partial) {
    dn_bn_stats_partial(x, xns, n, c, hw, spc, chunks, partial);
}
extern "C" __global__ void bn_stats_partial_f16(const __half* x, long long xns, int n, int c, long long hw,
                                                int spc, int chunks, double* partial) {
    dn_bn_stats_partial(x, xns, n, c, hw, spc, chunks, partial);
}

template <typename T>
__device__ __forceinline__ void dn_bn_stats_finalize(const double* partial, const T* x, int n, int c, long long hw,
                                                     int chunks, float* mean, float* var) {
    for (int ch = blockIdx.x * blockDim.x + threadIdx.x; ch < c; ch += gridDim.x * blockDim.x) {
        dn_bn_stats_finish(partial, ch, chunks, dn_ld(x[(long long) ch * hw]), (double) n * (double) hw, &mean[ch], &var[ch]);
    }
}

extern "C" __global__ void bn_stats_finalize_f32(const double* partial, const float* x, int n, int c, long long hw,
                                                 int chunks, float* mean, float* var) {
    dn_bn_stats_finalize(partial, x, n, c, hw, chunks, mean, var);
}
extern "C" __global__ void bn_stats_finalize_bf16(const double* partial, const __nv_bfloat16* x, int n, int c, long long hw,
                                                  int chunks, float* mean, float* var) {
    dn_bn_stats_finalize(partial, x, n, c, hw, chunks, mean, var);
}
extern "C" __global__ void bn_stats_finalize_f16(const double* partial, const __half* x, int n, int c, long long hw,
                                                 int chunks, float* mean, float* var) {
    dn_bn_stats_finalize(partial, x, n, c, hw, chunks, mean, var);
}

// The update a training-mode forward does not fuse into bn_apply_f32 (Backend.batchNormUpdateRunning
// on its own); unbias = count / (count - 1) (1 when count is 1) comes from the launcher.
extern "C" __global__ void bn_running_update_f32(const float* mean, const float* var, int c, double momentum,
                                                 double unbias, float* running_mean, float* running_var) {
    for (int ch = blockIdx.x * blockDim.x + threadIdx.x; ch < c; ch += gridDim.x * blockDim.x) {
        dn_bn_running_update(mean[ch], var[ch], momentum, unbias, &running_mean[ch], &running_var[ch]);
    }
}
