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
// Statistics over the batches of several data-parallel replicas (SyncBatchNorm), each replica's
// batch having the same count = N*H*W values per channel, with an all-reduce between two kernels:
//   bn_stats_gather_*:     one thread per channel turns its chunk sums into this replica's mean and
//                          M2 = sum (x - mean)^2 in double, and writes them into slot `rank` of
//                          gathered [ranks][C][2], zeroing every other slot: the all-reduce sum of
//                          gathered is then an all-gather of every replica's pair.
//   bn_stats_combine_f32:  one thread per channel combines the pairs in rank order (Chan et al.'s
//                          parallel variance: M2 = sum M2_r + count * sum (mean_r - mean)^2) into the
//                          mean and biased variance of all ranks * count values. The replicas' shifts
//                          differ, so their shifted sums cannot be added; their means and M2s can.
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

template <typename T>
__device__ __forceinline__ void dn_bn_stats_gather(const double* partial, const T* x, int c, long long hw, int chunks,
                                                   double count, int rank, int ranks, double* gathered) {
    for (int ch = blockIdx.x * blockDim.x + threadIdx.x; ch < c; ch += gridDim.x * blockDim.x) {
        double s1, s2;
        dn_load_chunk_sums(partial, ch, chunks, &s1, &s2);
        const double d = s1 / count;                               // mean of x - shift
        const double m = (double) dn_ld(x[(long long) ch * hw]) + d;
        const double m2 = s2 - s1 * d;                             // sum (x - mean)^2
        for (int r = 0; r < ranks; r++) {
            double* out = gathered + 2 * ((long long) r * c + ch);
            out[0] = r == rank ? m : 0.0;
            out[1] = r == rank ? (m2 > 0.0 ? m2 : 0.0) : 0.0;
        }
    }
}

extern "C" __global__ void bn_stats_gather_f32(const double* partial, const float* x, int c, long long hw, int chunks,
                                               double count, int rank, int ranks, double* gathered) {
    dn_bn_stats_gather(partial, x, c, hw, chunks, count, rank, ranks, gathered);
}
extern "C" __global__ void bn_stats_gather_bf16(const double* partial, const __nv_bfloat16* x, int c, long long hw, int chunks,
                                                double count, int rank, int ranks, double* gathered) {
    dn_bn_stats_gather(partial, x, c, hw, chunks, count, rank, ranks, gathered);
}
extern "C" __global__ void bn_stats_gather_f16(const double* partial, const __half* x, int c, long long hw, int chunks,
                                               double count, int rank, int ranks, double* gathered) {
    dn_bn_stats_gather(partial, x, c, hw, chunks, count, rank, ranks, gathered);
}

extern "C" __global__ void bn_stats_combine_f32(const double* gathered, int c, int ranks, double count, float* mean, float* var) {
    for (int ch = blockIdx.x * blockDim.x + threadIdx.x; ch < c; ch += gridDim.x * blockDim.x) {
        double s = 0.0;
        for (int r = 0; r < ranks; r++) s += gathered[2 * ((long long) r * c + ch)];
        const double m = s / ranks;
        double m2 = 0.0;
        for (int r = 0; r < ranks; r++) {
            const double* in = gathered + 2 * ((long long) r * c + ch);
            const double d = in[0] - m;
            m2 += in[1] + count * d * d;
        }
        mean[ch] = (float) m;
        var[ch] = (float) (m2 / (count * ranks));
    }
}
