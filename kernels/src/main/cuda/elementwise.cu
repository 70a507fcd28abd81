// Elementwise ops over channel slices, treating each sample's C*H*W elements as one contiguous row
// of length len (a contiguous tensor of any rank is one row: n = 1, len = numel). Every tensor
// argument has its own batch stride (..ns), so sources and destinations may be slices of different
// storages. Rows walk blockDim.y/gridDim.y, elements blockDim.x/gridDim.x (grid-stride both ways).
// Results equal the CPU backend's (ElementwiseF32) bit for bit; in 16 bits (_bf16, _f16: the
// activations' storage type, common.cuh) they equal the CPU twin's, which computes the same float32
// values and rounds what it stores once.
//   fill_*:             dst = value (rounded once to the storage type)
//   copy_*:             dst = src, or dst += src; copy_<src>_<dst> converts between float32 and a
//                       16-bit type (the weights' 16-bit copy, images, a 16-bit weight gradient
//                       widened into float32)
//   relu_*:             y = max(x, 0) as Math.max (x and y may be the same memory)
//   relu_backward_*:    dx (=|+=) y > 0 ? dy : 0
//   dropout_forward_*:  mask[i] = uniform(seed, i) < p ? 0 : scale; y = x * mask, with i the dense
//                       row-major index s * len + j of the element (Backend.dropoutForward); the
//                       mask is float32 in every precision (the CPU twin keeps it unrounded)
//   dropout_forward_seeded_*: dropout_forward_* with the seed read from device memory when it runs,
//                       so a captured graph draws a new mask each replay (Backend.dropoutForward
//                       with a seed tensor)
//   dropout_backward_*: dx (=|+=) dy * mask
#include "common.cuh"

template <typename T>
__device__ __forceinline__ void dn_fill(T* dst, long long dns, int n, long long len, float value) {
    const T v = dn_st<T>(value);
    DN_ROWS_LOOP(r, n) {
        T* d = dst + r * dns;
        DN_COLS_LOOP(j, len) d[j] = v;
    }
}

extern "C" __global__ void fill_f32(float* dst, long long dns, int n, long long len, float value) {
    dn_fill(dst, dns, n, len, value);
}
extern "C" __global__ void fill_bf16(__nv_bfloat16* dst, long long dns, int n, long long len, float value) {
    dn_fill(dst, dns, n, len, value);
}
extern "C" __global__ void fill_f16(__half* dst, long long dns, int n, long long len, float value) {
    dn_fill(dst, dns, n, len, value);
}

template <typename S, typename D>
__device__ __forceinline__ void dn_copy(const S* src, long long sns, D* dst, long long dns, int n, long long len, int accumulate) {
    DN_ROWS_LOOP(r, n) {
        const S* a = src + r * sns;
        D* d = dst + r * dns;
        if (accumulate) {
            DN_COLS_LOOP(j, len) d[j] = dn_st<D>(dn_ld(d[j]) + dn_ld(a[j]));
        } else {
            DN_COLS_LOOP(j, len) d[j] = dn_st<D>(dn_ld(a[j]));
        }
    }
}

extern "C" __global__ void copy_f32(const float* src, long long sns, float* dst, long long dns,
                                    int n, long long len, int accumulate) {
    dn_copy(src, sns, dst, dns, n, len, accumulate);
}
extern "C" __global__ void copy_bf16(const __nv_bfloat16* src, long long sns, __nv_bfloat16* dst, long long dns,
                                     int n, long long len, int accumulate) {
    dn_copy(src, sns, dst, dns, n, len, accumulate);
}
extern "C" __global__ void copy_f16(const __half* src, long long sns, __half* dst, long long dns,
                                    int n, long long len, int accumulate) {
    dn_copy(src, sns, dst, dns, n, len, accumulate);
}
extern "C" __global__ void copy_f32_bf16(const float* src, long long sns, __nv_bfloat16* dst, long long dns,
                                         int n, long long len, int accumulate) {
    dn_copy(src, sns, dst, dns, n, len, accumulate);
}
extern "C" __global__ void copy_bf16_f32(const __nv_bfloat16* src, long long sns, float* dst, long long dns,
                                         int n, long long len, int accumulate) {
    dn_copy(src, sns, dst, dns, n, len, accumulate);
}
extern "C" __global__ void copy_f32_f16(const float* src, long long sns, __half* dst, long long dns,
                                        int n, long long len, int accumulate) {
    dn_copy(src, sns, dst, dns, n, len, accumulate);
}
extern "C" __global__ void copy_f16_f32(const __half* src, long long sns, float* dst, long long dns,
                                        int n, long long len, int accumulate) {
    dn_copy(src, sns, dst, dns, n, len, accumulate);
}

template <typename T>
__device__ __forceinline__ void dn_relu_rows(const T* x, long long xns, T* y, long long yns, int n, long long len) {
    DN_ROWS_LOOP(r, n) {
        const T* a = x + r * xns;
        T* d = y + r * yns;
        DN_COLS_LOOP(j, len) d[j] = dn_st<T>(dn_relu(dn_ld(a[j])));
    }
}

extern "C" __global__ void relu_f32(const float* x, long long xns, float* y, long long yns, int n, long long len) {
    dn_relu_rows(x, xns, y, yns, n, len);
}
extern "C" __global__ void relu_bf16(const __nv_bfloat16* x, long long xns, __nv_bfloat16* y, long long yns, int n, long long len) {
    dn_relu_rows(x, xns, y, yns, n, len);
}
extern "C" __global__ void relu_f16(const __half* x, long long xns, __half* y, long long yns, int n, long long len) {
    dn_relu_rows(x, xns, y, yns, n, len);
}

template <typename T>
__device__ __forceinline__ void dn_relu_backward(const T* y, long long yns, const T* dy, long long dyns,
                                                 T* dx, long long dxns, int n, long long len, int accumulate) {
    DN_ROWS_LOOP(r, n) {
        const T* yr = y + r * yns;
        const T* g = dy + r * dyns;
        T* d = dx + r * dxns;
        DN_COLS_LOOP(j, len) {
            const float v = dn_ld(yr[j]) > 0.0f ? dn_ld(g[j]) : 0.0f;
            d[j] = dn_st<T>(accumulate ? dn_ld(d[j]) + v : v);
        }
    }
}

extern "C" __global__ void relu_backward_f32(const float* y, long long yns, const float* dy, long long dyns,
                                             float* dx, long long dxns, int n, long long len, int accumulate) {
    dn_relu_backward(y, yns, dy, dyns, dx, dxns, n, len, accumulate);
}
extern "C" __global__ void relu_backward_bf16(const __nv_bfloat16* y, long long yns, const __nv_bfloat16* dy, long long dyns,
                                              __nv_bfloat16* dx, long long dxns, int n, long long len, int accumulate) {
    dn_relu_backward(y, yns, dy, dyns, dx, dxns, n, len, accumulate);
}
extern "C" __global__ void relu_backward_f16(const __half* y, long long yns, const __half* dy, long long dyns,
                                             __half* dx, long long dxns, int n, long long len, int accumulate) {
    dn_relu_backward(y, yns, dy, dyns, dx, dxns, n, len, accumulate);
}

// p is compared in double, as Java compares the float uniform with the double p, so the same
// elements drop on both sides for any p; scale = (float) (1 / (1 - p)) comes from the launcher.
template <typename T>
__device__ __forceinline__ void dn_dropout_forward(const T* x, long long xns, T* y, long long yns,
                                                   float* mask, long long mns, int n, long long len,
                                                   double p, float scale, unsigned long long seed) {
    DN_ROWS_LOOP(r, n) {
        const T* a = x + r * xns;
        T* d = y + r * yns;
        float* mk = mask + r * mns;
        DN_COLS_LOOP(j, len) {
            const unsigned long long i = (unsigned long long) (r * len + j);
            const float m = (double) dn_rng_uniform(seed, i) < p ? 0.0f : scale;
            mk[j] = m;
            d[j] = dn_st<T>(dn_ld(a[j]) * m);
        }
    }
}

extern "C" __global__ void dropout_forward_f32(const float* x, long long xns, float* y, long long yns,
                                               float* mask, long long mns, int n, long long len,
                                               double p, float scale, unsigned long long seed) {
    dn_dropout_forward(x, xns, y, yns, mask, mns, n, len, p, scale, seed);
}
extern "C" __global__ void dropout_forward_bf16(const __nv_bfloat16* x, long long xns, __nv_bfloat16* y, long long yns,
                                                float* mask, long long mns, int n, long long len,
                                                double p, float scale, unsigned long long seed) {
    dn_dropout_forward(x, xns, y, yns, mask, mns, n, len, p, scale, seed);
}
extern "C" __global__ void dropout_forward_f16(const __half* x, long long xns, __half* y, long long yns,
                                               float* mask, long long mns, int n, long long len,
                                               double p, float scale, unsigned long long seed) {
    dn_dropout_forward(x, xns, y, yns, mask, mns, n, len, p, scale, seed);
}

extern "C" __global__ void dropout_forward_seeded_f32(const float* x, long long xns, float* y, long long yns,
                                                float* mask, long long mns, int n, long long len,
                                                double p, float scale, const unsigned long long* seed) {
    dn_dropout_forward(x, xns, y, yns, mask, mns, n, len, p, scale, *seed);
}
extern "C" __global__ void dropout_forward_seeded_bf16(const __nv_bfloat16* x, long long xns, __nv_bfloat16* y, long long yns,
                                                float* mask, long long mns, int n, long long len,
                                                double p, float scale, const unsigned long long* seed) {
    dn_dropout_forward(x, xns, y, yns, mask, mns, n, len, p, scale, *seed);
}
extern "C" __global__ void dropout_forward_seeded_f16(const __half* x, long long xns, __half* y, long long yns,
                                                float* mask, long long mns, int n, long long len,
                                                double p, float scale, const unsigned long long* seed) {
    dn_dropout_forward(x, xns, y, yns, mask, mns, n, len, p, scale, *seed);
}

template <typename T>
__device__ __forceinline__ void dn_dropout_backward(const T* dy, long long dyns, const float* mask, long long mns,
                                                    T* dx, long long dxns, int n, long long len, int accumulate) {
    DN_ROWS_LOOP(r, n) {
        const T* g = dy + r * dyns;
        const float* mk = mask + r * mns;
        T* d = dx + r * dxns;
        DN_COLS_LOOP(j, len) {
            const float v = __fmul_rn(dn_ld(g[j]), mk[j]);   // rounded before the add, as in Java
            d[j] = dn_st<T>(accumulate ? dn_ld(d[j]) + v : v);
        }
    }
}

extern "C" __global__ void dropout_backward_f32(const float* dy, long long dyns, const float* mask, long long mns,
                                                float* dx, long long dxns, int n, long long len, int accumulate) {
    dn_dropout_backward(dy, dyns, mask, mns, dx, dxns, n, len, accumulate);
}
extern "C" __global__ void dropout_backward_bf16(const __nv_bfloat16* dy, long long dyns, const float* mask, long long mns,
                                                 __nv_bfloat16* dx, long long dxns, int n, long long len, int accumulate) {
    dn_dropout_backward(dy, dyns, mask, mns, dx, dxns, n, len, accumulate);
}
extern "C" __global__ void dropout_backward_f16(const __half* dy, long long dyns, const float* mask, long long mns,
                                                __half* dx, long long dxns, int n, long long len, int accumulate) {
    dn_dropout_backward(dy, dyns, mask, mns, dx, dxns, n, len, accumulate);
}
