/*
 * The part of CUDA C++ our kernels use, for compiling kernels/src/main/cuda as host C++ and running
 * them on the CPU (cuda_emulator.cpp): qualifiers, the built-in index variables, __syncthreads,
 * warp shuffles, the IEEE round-to-nearest intrinsics, a few device math functions, and the 16-bit
 * storage types with their conversions.
 *
 * Execution model: one block at a time, its threads as cooperative fibers on one OS thread, so a
 * __shared__ variable can be a function-static (one copy, reused by the next block) and a barrier
 * or shuffle is a switch back to the scheduler. Compile with -ffp-contract=off: device code in the
 * kernels rounds every product before its sum exactly where it says so, as the CPU backend does.
 */
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__
#define __launch_bounds__(...)

struct dim3 {
    unsigned int x, y, z;
};

struct alignas(16) float4 {
    float x, y, z, w;
};

inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

// cuda_fp16.h and cuda_bf16.h as far as the kernels use them: the two 16-bit storage types and
// their round-to-nearest-even conversions (dn_half.h, written as org.densenet.engine.Float16 is).
// The kernels never compute on a 16-bit value, only load it to float and store a float rounded,
// so the types here are bare storage without operators: a kernel that did arithmetic on them
// would not compile here, which keeps the rule (common.cuh) enforced.
#include "dn_half.h"

struct __half {
    unsigned short x;
};

struct __nv_bfloat16 {
    unsigned short x;
};

inline __half __float2half_rn(float f) { return __half{dn_float_to_fp16_bits(f)}; }
inline float __half2float(__half h) { return dn_fp16_bits_to_float(h.x); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16{dn_float_to_bf16_bits(f)}; }
inline float __bfloat162float(__nv_bfloat16 b) { return dn_bf16_bits_to_float(b.x); }

namespace dn_emu {
struct Fiber;
extern Fiber *current;
extern dim3 block_idx, block_dim, grid_dim;
const dim3 &thread_idx();
void sync_threads();
// mode 0: value of lane (lane + arg) when < 32, else the caller's own value (__shfl_down_sync);
// mode 1: value of lane (arg & 31) (__shfl_sync). Every lane of the warp must take part.
uint64_t shuffle(uint64_t bits, unsigned mask, int arg, int mode);

template <typename T>
T shuffle_typed(T v, unsigned mask, int arg, int mode) {
    static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    bits = shuffle(bits, mask, arg, mode);
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
}
}  // namespace dn_emu

#define threadIdx (dn_emu::thread_idx())
#define blockIdx (dn_emu::block_idx)
#define blockDim (dn_emu::block_dim)
#define gridDim (dn_emu::grid_dim)

inline void __syncthreads() { dn_emu::sync_threads(); }

template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta) { return dn_emu::shuffle_typed(v, mask, (int) delta, 0); }
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int lane) { return dn_emu::shuffle_typed(v, mask, lane, 1); }

// Round-to-nearest arithmetic: what plain float/double operations do on x86-64 (SSE2) without
// contraction.
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
