// Shared device helpers for every kernel family: the counter-based random number generator
// (bit-identical to org.densenet.engine.CounterRng), the channel-slice addressing rule, and
// deterministic block reductions (fixed tree order, no atomics, so a result never depends on
// scheduling).
//
// Channel-slice layout (Backend.java): a 4-D tensor [N, C, H, W] whose element (s, ch, p) with
// p = h * W + w lives at base[s * ns + ch * hw + p]; hw = H * W, ns >= C * hw. One sample's C * hw
// elements are therefore contiguous, which is what the channel-agnostic kernels rely on.
#pragma once

#include <stdint.h>
#ifdef __CUDACC__
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#endif

// 16-bit storage (the BF16 and FP16 training path): every kernel that reads or writes activations
// is a template over its storage type T (float, __nv_bfloat16 or __half), entered through one
// extern "C" wrapper per type (name_f32, name_bf16, name_f16). Values are loaded to float, all
// arithmetic is the float32 kernel's own, and a result is rounded once, to nearest even, as it is
// stored; T = float loads and stores plain floats, so the f32 kernels compute exactly what they
// did before they were templates. Only the conversion intrinsics below touch a 16-bit value (no
// __half arithmetic), which is also all the emulated device provides (cuda_emulator.h). Entry
// points are written out one by one (KernelImageTest reads their names from the sources).
__device__ __forceinline__ float dn_ld(float v) { return v; }
__device__ __forceinline__ float dn_ld(__half v) { return __half2float(v); }
__device__ __forceinline__ float dn_ld(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T dn_st(float v);
template <>
__device__ __forceinline__ float dn_st<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half dn_st<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 dn_st<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Every launcher uses blocks of at most this many threads; reductions size their scratch by it.
#define DN_MAX_THREADS 1024
#define DN_WARP 32

// SplitMix64 finaliser of seed + (index + 1) * golden ratio (org.densenet.engine.CounterRng.bits).
// Unsigned 64-bit arithmetic wraps exactly as Java's long arithmetic does; >> on an unsigned value
// is Java's >>>.
__device__ __forceinline__ unsigned long long dn_rng_bits(unsigned long long seed, unsigned long long index) {
    unsigned long long z = seed + (index + 1ULL) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 bits (CounterRng.uniform): the top 24 bits times 2^-24, both exact in
// float32, so the product is exact and equals the Java value bit for bit.
__device__ __forceinline__ float dn_rng_uniform(unsigned long long seed, unsigned long long index) {
    return (float) (dn_rng_bits(seed, index) >> 40) * 5.9604644775390625e-08f;
}

// Sample s and channel ch of row r of an [N, C] grid of planes; a 32-bit division whenever r fits
// (always, for any real batch), the 64-bit one otherwise.
__device__ __forceinline__ void dn_row_split(long long r, int c, long long* s, int* ch) {
    if (r <= 0x7fffffffLL) {
        const int q = (int) r / c;
        *s = q;
        *ch = (int) r - q * c;
    } else {
        *s = r / c;
        *ch = (int) (r - *s * c);
    }
}

// Offset in elements of row r of a channel slice viewed as N * C rows of hw pixels.
__device__ __forceinline__ long long dn_row_offset(long long row, int c, long long hw, long long ns) {
    long long s;
    int ch;
    dn_row_split(row, c, &s, &ch);
    return s * ns + ch * hw;
}

__device__ __forceinline__ float dn_warp_sum(float v) {
    for (int o = DN_WARP / 2; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double dn_warp_sum(double v) {
    for (int o = DN_WARP / 2; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float dn_warp_max(float v) {
    for (int o = DN_WARP / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    return v;
}

// Sum of v over the whole block, returned to every thread. Needs blockDim.x * blockDim.y * blockDim.z
// to be a multiple of 32 and at most DN_MAX_THREADS (the launchers guarantee both), and every thread
// of the block to call it. Calling it twice in a row is safe: the leading barrier protects the
// scratch the previous call's threads may still be reading.
template <typename T>
__device__ T dn_block_sum(T v) {
    __shared__ T scratch[DN_MAX_THREADS / DN_WARP];
    const int tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const int warps = (blockDim.x * blockDim.y * blockDim.z) / DN_WARP;
    v = dn_warp_sum(v);
    __syncthreads();
    if ((tid & (DN_WARP - 1)) == 0) scratch[tid / DN_WARP] = v;
    __syncthreads();
    T total = 0;
    // Every thread adds the warp partials in the same fixed order: identical result everywhere.
    for (int i = 0; i < warps; i++) total += scratch[i];
    return total;
}

// Chunked per-channel reductions (bn_stats_partial_f32, bn_backward_reduce_f32 and their
// finalising kernels): partial[ch][j][0..1] holds chunk j's two sums of channel ch.
// Ends block (chunk j, channel ch): sums a and b over the block and stores them. Every thread calls it.
__device__ __forceinline__ void dn_store_chunk_sums(double a, double b, double* partial, int ch, int chunks, int j) {
    a = dn_block_sum(a);
    b = dn_block_sum(b);
    if (threadIdx.x == 0 && threadIdx.y == 0) {
        double* out = partial + 2 * ((long long) ch * chunks + j);
        out[0] = a;
        out[1] = b;
    }
}

// Channel ch's two sums over all its chunks, added in chunk order (one thread per channel).
__device__ __forceinline__ void dn_load_chunk_sums(const double* partial, int ch, int chunks, double* a, double* b) {
    const double* in = partial + 2 * (long long) ch * chunks;
    double s1 = 0.0, s2 = 0.0;
    for (int j = 0; j < chunks; j++) {
        s1 += in[2 * j];
        s2 += in[2 * j + 1];
    }
    *a = s1;
    *b = s2;
}

// Channel ch's batch mean and biased variance from its chunk sums of d = x - shift and d^2, shift
// being the channel's first value (sample 0, pixel 0), over count = N*H*W values.
__device__ __forceinline__ void dn_bn_stats_finish(const double* partial, int ch, int chunks, float shift, double count,
                                                   float* mean, float* var) {
    double s1, s2;
    dn_load_chunk_sums(partial, ch, chunks, &s1, &s2);
    const double mu = s1 / count;
    const double v = s2 / count - mu * mu;
    *mean = (float) ((double) shift + mu);
    *var = (float) (v > 0.0 ? v : 0.0);
}

// Integer sum over a warp (the result is meaningful in lane 0).
__device__ __forceinline__ int dn_warp_sum_int(int v) {
    for (int o = DN_WARP / 2; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

// max(v, 0) exactly as Java's Math.max(v, 0f): NaN stays NaN, -0 becomes +0.
__device__ __forceinline__ float dn_relu(float v) {
    return (v > 0.0f || v != v) ? v : 0.0f;
}

// Per-channel batch-norm scale = gamma / sqrt(var + eps) and shift = beta - mean * scale, in double
// and rounded once to float, operation for operation as the CPU backend (NormF32.scaleShift)
// computes them; the explicit-rounding intrinsics keep the compiler from fusing a multiply-add
// the Java code does not fuse, so both sides get the same floats.
__device__ __forceinline__ void dn_bn_scale_shift(float mean, float var, float gamma, float beta, double eps,
                                                  float* scale, float* shift) {
    const double sc = __ddiv_rn((double) gamma, __dsqrt_rn(__dadd_rn((double) var, eps)));
    *scale = (float) sc;
    *shift = (float) __dadd_rn((double) beta, -__dmul_rn((double) mean, sc));
}

// running = (1 - m) * running + m * batch for one channel, the batch variance made unbiased by
// unbias = count / (count - 1), in double and rounded once, as the CPU backend (NormF32.updateRunning)
// computes it.
__device__ __forceinline__ void dn_bn_running_update(float mean, float var, double momentum, double unbias,
                                                     float* running_mean, float* running_var) {
    const double keep = 1.0 - momentum;
    *running_mean = (float) __dadd_rn(__dmul_rn(keep, (double) *running_mean), __dmul_rn(momentum, (double) mean));
    *running_var = (float) __dadd_rn(__dmul_rn(keep, (double) *running_var), __dmul_rn(__dmul_rn(momentum, (double) var), unbias));
}

// x * scale + shift with two roundings, as Java evaluates it (no fused multiply-add).
__device__ __forceinline__ float dn_bn_value(float x, float scale, float shift) {
    return __fadd_rn(__fmul_rn(x, scale), shift);
}

// Grid-stride loops of the "rows x columns" launch geometry (LaunchGeometry.rows on the Java side):
// rows walk blockDim.y / gridDim.y, columns walk blockDim.x / gridDim.x, both in 64-bit.
#define DN_ROWS_LOOP(r, rows)                                                                    \
    for (long long r = blockIdx.y * (long long) blockDim.y + threadIdx.y; r < (long long) (rows); \
         r += (long long) gridDim.y * blockDim.y)
#define DN_COLS_LOOP(j, len)                                                                     \
    for (long long j = blockIdx.x * (long long) blockDim.x + threadIdx.x; j < (long long) (len);  \
         j += (long long) gridDim.x * blockDim.x)
