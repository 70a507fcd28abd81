// Elementwise ops over channel slices, treating each sample's C*H*W elements as one contiguous row
// of length len (a contiguous tensor of any rank is one row: n = 1, len = numel). Every tensor
// argument has its own batch stride (..ns), so sources and destinations may be slices of different
// storages. Rows walk blockDim.y/gridDim.y, elements blockDim.x/gridDim.x (grid-stride both ways).
// Results equal the CPU backend's (ElementwiseF32) bit for bit.
//   fill_f32:             dst = value
//   copy_f32:             dst = src, or dst += src
//   relu_f32:             y = max(x, 0) as Math.max (x and y may be the same memory)
//   relu_backward_f32:    dx (=|+=) y > 0 ? dy : 0
//   dropout_forward_f32:  mask[i] = uniform(seed, i) < p ? 0 : scale; y = x * mask, with i the dense
//                         row-major index s * len + j of the element (Backend.dropoutForward)
//   dropout_forward_seeded_f32: dropout_forward_f32 with the seed read from device memory when it
//                         runs, so a captured graph draws a new mask each replay (Backend.dropoutForward
//                         with a seed tensor)
//   dropout_backward_f32: dx (=|+=) dy * mask
#include "common.cuh"

extern "C" __global__ void fill_f32(float* dst, long long dns, int n, long long len, float value) {
    DN_ROWS_LOOP(r, n) {
        float* d = dst + r * dns;
        DN_COLS_LOOP(j, len) d[j] = value;
    }
}

extern "C" __global__ void copy_f32(const float* src, long long sns, float* dst, long long dns,
                                    int n, long long len, int accumulate) {
    DN_ROWS_LOOP(r, n) {
        const float* a = src + r * sns;
        float* d = dst + r * dns;
        if (accumulate) {
            DN_COLS_LOOP(j, len) d[j] += a[j];
        } else {
            DN_COLS_LOOP(j, len) d[j] = a[j];
        }
    }
}

extern "C" __global__ void relu_f32(const float* x, long long xns, float* y, long long yns, int n, long long len) {
    DN_ROWS_LOOP(r, n) {
        const float* a = x + r * xns;
        float* d = y + r * yns;
        DN_COLS_LOOP(j, len) d[j] = dn_relu(a[j]);
    }
}

extern "C" __global__ void relu_backward_f32(const float* y, long long yns, const float* dy, long long dyns,
                                             float* dx, long long dxns, int n, long long len, int accumulate) {
    DN_ROWS_LOOP(r, n) {
        const float* yr = y + r * yns;
        const float* g = dy + r * dyns;
        float* d = dx + r * dxns;
        DN_COLS_LOOP(j, len) {
            const float v = yr[j] > 0.0f ? g[j] : 0.0f;
            d[j] = accumulate ? d[j] + v : v;
        }
    }
}

// p is compared in double, as Java compares the float uniform with the double p, so the same
// elements drop on both sides for any p; scale = (float) (1 / (1 - p)) comes from the launcher.
__device__ __forceinline__ void dn_dropout_forward(const float* x, long long xns, float* y, long long yns,
                                                    float* mask, long long mns, int n, long long len,
                                                    double p, float scale, unsigned long long seed) {
    DN_ROWS_LOOP(r, n) {
        const float* a = x + r * xns;
        float* d = y + r * yns;
        float* mk = mask + r * mns;
        DN_COLS_LOOP(j, len) {
            const unsigned long long i = (unsigned long long) (r * len + j);
            const float m = (double) dn_rng_uniform(seed, i) < p ? 0.0f : scale;
            mk[j] = m;
            d[j] = a[j] * m;
        }
    }
}

extern "C" __global__ void dropout_forward_f32(const float* x, long long xns, float* y, long long yns,
                                               float* mask, long long mns, int n, long long len,
                                               double p, float scale, unsigned long long seed) {
    dn_dropout_forward(x, xns, y, yns, mask, mns, n, len, p, scale, seed);
}

extern "C" __global__ void dropout_forward_seeded_f32(const float* x, long long xns, float* y, long long yns,
                                                      float* mask, long long mns, int n, long long len,
                                                      double p, float scale, const unsigned long long* seed) {
    dn_dropout_forward(x, xns, y, yns, mask, mns, n, len, p, scale, *seed);
}

extern "C" __global__ void dropout_backward_f32(const float* dy, long long dyns, const float* mask, long long mns,
                                                float* dx, long long dxns, int n, long long len, int accumulate) {
    DN_ROWS_LOOP(r, n) {
        const float* g = dy + r * dyns;
        const float* mk = mask + r * mns;
        float* d = dx + r * dxns;
        DN_COLS_LOOP(j, len) {
            const float v = __fmul_rn(g[j], mk[j]);   // rounded before the add, as in Java
            d[j] = accumulate ? d[j] + v : v;
        }
    }
}
