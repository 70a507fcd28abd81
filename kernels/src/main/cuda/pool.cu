// Pooling over channel slices: x [N, C, H, W] (batch stride xns) <-> y [N, C, P, Q] (batch stride
// yns), square window k, stride, padding pad (pad <= k / 2, checked by the launcher, so every
// window holds at least one real pixel and never reaches past H + pad). Rows are (sample, channel)
// planes walking blockDim.y/gridDim.y; pixels of a plane walk blockDim.x/gridDim.x.
//   avgpool_forward_f32:         y = window sum / (k * k)  (count_include_pad: padding counts as 0)
//   avgpool_backward_f32:        dx (=|+=) sum over the windows covering the pixel of dy / (k * k)
//   maxpool_forward_f32:         y = max over the window's real pixels (padding ignored; NaN wins)
//   maxpool_backward_f32:        dx (=|+=) sum of dy over the windows whose first maximum (row-major
//                                scan) is this pixel, PyTorch's rule; argmax recomputed from x
//   global_avgpool_forward_f32:  y [N, C] (contiguous) = mean over H*W; one warp per plane
//   global_avgpool_backward_f32: dx (=|+=) dy[n, c] / (H * W)
// Backward kernels gather (one thread per input pixel) instead of scattering: no atomics, and each
// pixel adds its windows' contributions in row-major window order, the order in which the CPU
// backend (PoolF32) scatters them, so the two agree bit for bit; the forward sums are in double
// like the CPU's. Activations may be float32 or 16 bits (_bf16, _f16: loaded to float, each result
// rounded once as it is stored); global pooling's y and dy are float32 [N, C] in every precision
// (the classifier's input and its gradient).
#include "common.cuh"

// Index within the plane of the first maximum of the window starting at (h0, w0), padding
// skipped; the first NaN, if any, wins (PoolF32.argmax).
template <typename T>
__device__ __forceinline__ int dn_window_argmax(const T* xr, int h, int w, int h0, int w0, int k) {
    const int hs = max(h0, 0), he = min(h0 + k, h);
    const int ws = max(w0, 0), we = min(w0 + k, w);
    int best = hs * w + ws;
    float bv = -INFINITY;
    for (int ih = hs; ih < he; ih++) {
        for (int iw = ws; iw < we; iw++) {
            const float v = dn_ld(xr[ih * w + iw]);
            if (v != v) return ih * w + iw;
            if (v > bv) {
                bv = v;
                best = ih * w + iw;
            }
        }
    }
    return best;
}

// Range [lo, hi] of output positions along one axis whose window covers input position i.
__device__ __forceinline__ void dn_covering(int i, int pad, int k, int stride, int outSize, int* lo, int* hi) {
    const int a = i + pad - k + 1;                     // first o with o * stride + k - 1 >= i + pad
    *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    *hi = min(outSize - 1, (i + pad) / stride);         // last o with o * stride <= i + pad
}

template <typename T>
__device__ __forceinline__ void dn_avgpool_forward(const T* x, long long xns, T* y, long long yns,
                                                   int n, int c, int h, int w, int p, int q, int k, int stride, int pad) {
    const long long hw = (long long) h * w, pq = (long long) p * q;
    const double inv = 1.0 / (double) (k * k);
    DN_ROWS_LOOP(r, (long long) n * c) {
        const T* xr = x + dn_row_offset(r, c, hw, xns);
        T* yr = y + dn_row_offset(r, c, pq, yns);
        DN_COLS_LOOP(o, pq) {
            const int oh = (int) (o / q), ow = (int) (o - (long long) oh * q);
            const int h0 = oh * stride - pad, w0 = ow * stride - pad;
            double sum = 0.0;
            for (int ih = max(h0, 0); ih < min(h0 + k, h); ih++) {
                for (int iw = max(w0, 0); iw < min(w0 + k, w); iw++) sum += (double) dn_ld(xr[ih * w + iw]);
            }
            yr[o] = dn_st<T>((float) (sum * inv));
        }
    }
}

extern "C" __global__ void avgpool_forward_f32(const float* x, long long xns, float* y, long long yns,
                                               int n, int c, int h, int w, int p, int q, int k, int stride, int pad) {
    dn_avgpool_forward(x, xns, y, yns, n, c, h, w, p, q, k, stride, pad);
}
extern "C" __global__ void avgpool_forward_bf16(const __nv_bfloat16* x, long long xns, __nv_bfloat16* y, long long yns,
                                                int n, int c, int h, int w, int p, int q, int k, int stride, int pad) {
    dn_avgpool_forward(x, xns, y, yns, n, c, h, w, p, q, k, stride, pad);
}
extern "C" __global__ void avgpool_forward_f16(const __half* x, long long xns, __half* y, long long yns,
                                               int n, int c, int h, int w, int p, int q, int k, int stride, int pad) {
    dn_avgpool_forward(x, xns, y, yns, n, c, h, w, p, q, k, stride, pad);
}

template <typename T>
__device__ __forceinline__ void dn_avgpool_backward(const T* dy, long long dyns, T* dx, long long dxns,
                                                    int n, int c, int h, int w, int p, int q, int k, int stride, int pad,
                                                    int accumulate) {
    const long long hw = (long long) h * w, pq = (long long) p * q;
    const double inv = 1.0 / (double) (k * k);
    DN_ROWS_LOOP(r, (long long) n * c) {
        const T* dyr = dy + dn_row_offset(r, c, pq, dyns);
        T* dxr = dx + dn_row_offset(r, c, hw, dxns);
        DN_COLS_LOOP(i, hw) {
            const int ih = (int) (i / w), iw = (int) (i - (long long) ih * w);
            int ohLo, ohHi, owLo, owHi;
            dn_covering(ih, pad, k, stride, p, &ohLo, &ohHi);
            dn_covering(iw, pad, k, stride, q, &owLo, &owHi);
            float acc = accumulate ? dn_ld(dxr[i]) : 0.0f;
            for (int oh = ohLo; oh <= ohHi; oh++) {
                for (int ow = owLo; ow <= owHi; ow++) acc = __fadd_rn(acc, (float) ((double) dn_ld(dyr[oh * q + ow]) * inv));
            }
            dxr[i] = dn_st<T>(acc);
        }
    }
}

extern "C" __global__ void avgpool_backward_f32(const float* dy, long long dyns, float* dx, long long dxns,
                                                int n, int c, int h, int w, int p, int q, int k, int stride, int pad,
                                                int accumulate) {
    dn_avgpool_backward(dy, dyns, dx, dxns, n, c, h, w, p, q, k, stride, pad, accumulate);
}
extern "C" __global__ void avgpool_backward_bf16(const __nv_bfloat16* dy, long long dyns, __nv_bfloat16* dx, long long dxns,
                                                 int n, int c, int h, int w, int p, int q, int k, int stride, int pad,
                                                 int accumulate) {
    dn_avgpool_backward(dy, dyns, dx, dxns, n, c, h, w, p, q, k, stride, pad, accumulate);
}
extern "C" __global__ void avgpool_backward_f16(const __half* dy, long long dyns, __half* dx, long long dxns,
                                                int n, int c, int h, int w, int p, int q, int k, int stride, int pad,
                                                int accumulate) {
    dn_avgpool_backward(dy, dyns, dx, dxns, n, c, h, w, p, q, k, stride, pad, accumulate);
}

template <typename T>
__device__ __forceinline__ void dn_maxpool_forward(const T* x, long long xns, T* y, long long yns,
                                                   int n, int c, int h, int w, int p, int q, int k, int stride, int pad) {
    const long long hw = (long long) h * w, pq = (long long) p * q;
    DN_ROWS_LOOP(r, (long long) n * c) {
        const T* xr = x + dn_row_offset(r, c, hw, xns);
        T* yr = y + dn_row_offset(r, c, pq, yns);
        DN_COLS_LOOP(o, pq) {
            const int oh = (int) (o / q), ow = (int) (o - (long long) oh * q);
            yr[o] = xr[dn_window_argmax(xr, h, w, oh * stride - pad, ow * stride - pad, k)];   // a stored value, moved as it is
        }
    }
}

extern "C" __global__ void maxpool_forward_f32(const float* x, long long xns, float* y, long long yns,
                                               int n, int c, int h, int w, int p, int q, int k, int stride, int pad) {
    dn_maxpool_forward(x, xns, y, yns, n, c, h, w, p, q, k, stride, pad);
}
extern "C" __global__ void maxpool_forward_bf16(const __nv_bfloat16* x, long long xns, __nv_bfloat16* y, long long yns,
                                                int n, int c, int h, int w, int p, int q, int k, int stride, int pad) {
    dn_maxpool_forward(x, xns, y, yns, n, c, h, w, p, q, k, stride, pad);
}
extern "C" __global__ void maxpool_forward_f16(const __half* x, long long xns, __half* y, long long yns,
                                               int n, int c, int h, int w, int p, int q, int k, int stride, int pad) {
    dn_maxpool_forward(x, xns, y, yns, n, c, h, w, p, q, k, stride, pad);
}

template <typename T>
__device__ __forceinline__ void dn_maxpool_backward(const T* x, long long xns, const T* dy, long long dyns,
                                                    T* dx, long long dxns,
                                                    int n, int c, int h, int w, int p, int q, int k, int stride, int pad,
                                                    int accumulate) {
    const long long hw = (long long) h * w, pq = (long long) p * q;
    DN_ROWS_LOOP(r, (long long) n * c) {
        const T* xr = x + dn_row_offset(r, c, hw, xns);
        const T* dyr = dy + dn_row_offset(r, c, pq, dyns);
        T* dxr = dx + dn_row_offset(r, c, hw, dxns);
        DN_COLS_LOOP(i, hw) {
            const int ih = (int) (i / w), iw = (int) (i - (long long) ih * w);
            int ohLo, ohHi, owLo, owHi;
            dn_covering(ih, pad, k, stride, p, &ohLo, &ohHi);
            dn_covering(iw, pad, k, stride, q, &owLo, &owHi);
            float acc = accumulate ? dn_ld(dxr[i]) : 0.0f;
            for (int oh = ohLo; oh <= ohHi; oh++) {
                for (int ow = owLo; ow <= owHi; ow++) {
                    if (dn_window_argmax(xr, h, w, oh * stride - pad, ow * stride - pad, k) == (int) i) {
                        acc = __fadd_rn(acc, dn_ld(dyr[oh * q + ow]));
                    }
                }
            }
            dxr[i] = dn_st<T>(acc);
        }
    }
}

extern "C" __global__ void maxpool_backward_f32(const float* x, long long xns, const float* dy, long long dyns,
                                                float* dx, long long dxns,
                                                int n, int c, int h, int w, int p, int q, int k, int stride, int pad,
                                                int accumulate) {
    dn_maxpool_backward(x, xns, dy, dyns, dx, dxns, n, c, h, w, p, q, k, stride, pad, accumulate);
}
extern "C" __global__ void maxpool_backward_bf16(const __nv_bfloat16* x, long long xns, const __nv_bfloat16* dy, long long dyns,
                                                 __nv_bfloat16* dx, long long dxns,
                                                 int n, int c, int h, int w, int p, int q, int k, int stride, int pad,
                                                 int accumulate) {
    dn_maxpool_backward(x, xns, dy, dyns, dx, dxns, n, c, h, w, p, q, k, stride, pad, accumulate);
}
extern "C" __global__ void maxpool_backward_f16(const __half* x, long long xns, const __half* dy, long long dyns,
                                                __half* dx, long long dxns,
                                                int n, int c, int h, int w, int p, int q, int k, int stride, int pad,
                                                int accumulate) {
    dn_maxpool_backward(x, xns, dy, dyns, dx, dxns, n, c, h, w, p, q, k, stride, pad, accumulate);
}

// Block: blockDim.x == 32 (one warp per plane, the launcher guarantees it), blockDim.y planes.
template <typename T>
__device__ __forceinline__ void dn_global_avgpool_forward(const T* x, long long xns, float* y, int n, int c, long long hw) {
    DN_ROWS_LOOP(r, (long long) n * c) {
        const T* xr = x + dn_row_offset(r, c, hw, xns);
        double sum = 0.0;
        for (long long i = threadIdx.x; i < hw; i += DN_WARP) sum += (double) dn_ld(xr[i]);
        sum = dn_warp_sum(sum);
        if (threadIdx.x == 0) y[r] = (float) (sum / (double) hw);
    }
}

extern "C" __global__ void global_avgpool_forward_f32(const float* x, long long xns, float* y,
                                                      int n, int c, long long hw) {
    dn_global_avgpool_forward(x, xns, y, n, c, hw);
}
extern "C" __global__ void global_avgpool_forward_bf16(const __nv_bfloat16* x, long long xns, float* y,
                                                       int n, int c, long long hw) {
    dn_global_avgpool_forward(x, xns, y, n, c, hw);
}
extern "C" __global__ void global_avgpool_forward_f16(const __half* x, long long xns, float* y,
                                                      int n, int c, long long hw) {
    dn_global_avgpool_forward(x, xns, y, n, c, hw);
}

template <typename T>
__device__ __forceinline__ void dn_global_avgpool_backward(const float* dy, T* dx, long long dxns,
                                                           int n, int c, long long hw, int accumulate) {
    DN_ROWS_LOOP(r, (long long) n * c) {
        const float v = (float) ((double) dy[r] / (double) hw);
        T* dxr = dx + dn_row_offset(r, c, hw, dxns);
        DN_COLS_LOOP(i, hw) dxr[i] = dn_st<T>(accumulate ? __fadd_rn(dn_ld(dxr[i]), v) : v);
    }
}

extern "C" __global__ void global_avgpool_backward_f32(const float* dy, float* dx, long long dxns,
                                                       int n, int c, long long hw, int accumulate) {
    dn_global_avgpool_backward(dy, dx, dxns, n, c, hw, accumulate);
}
extern "C" __global__ void global_avgpool_backward_bf16(const float* dy, __nv_bfloat16* dx, long long dxns,
                                                        int n, int c, long long hw, int accumulate) {
    dn_global_avgpool_backward(dy, dx, dxns, n, c, hw, accumulate);
}
extern "C" __global__ void global_avgpool_backward_f16(const float* dy, __half* dx, long long dxns,
                                                       int n, int c, long long hw, int accumulate) {
    dn_global_avgpool_backward(dy, dx, dxns, n, c, hw, accumulate);
}
