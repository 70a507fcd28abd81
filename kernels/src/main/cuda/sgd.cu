// Fused SGD step over flat float32 buffers, torch.optim.SGD semantics with dampening 0:
//   g' = g + wd * p;  if momentum != 0: buf = momentum * buf + g', g' = nesterov ? g' + momentum * buf : buf
//   p -= lr * g'
// grads are only read; buf is neither read nor written when momentum == 0 (it may be null then).
// The learning rate is read from device memory (one float at lr), not passed by value, so that a
// step captured in a CUDA graph follows a schedule: the host writes the rate before each replay.
// Every product is rounded before its sum (no fused multiply-add), as Java evaluates the CPU
// backend's loop (ElementwiseF32.sgd), so parameters match it bit for bit.
//   sgd_step_f32:      one element per thread step, any alignment.
//   sgd_step_vec4_f32: float4 loads/stores over the first count / 4 * 4 elements (the launcher checks
//                      that every buffer is 16-byte aligned), then the count % 4 tail elements by the
//                      first threads of the grid.
#include "common.cuh"

__device__ __forceinline__ void dn_sgd_one(float* p, const float* g, float* buf,
                                           float lr, float momentum, float wd, int nesterov) {
    float d = __fadd_rn(*g, __fmul_rn(wd, *p));
    if (momentum != 0.0f) {
        const float b = __fadd_rn(__fmul_rn(momentum, *buf), d);
        *buf = b;
        d = nesterov ? __fadd_rn(d, __fmul_rn(momentum, b)) : b;
    }
    *p = __fsub_rn(*p, __fmul_rn(lr, d));
}

extern "C" __global__ void sgd_step_f32(float* params, const float* grads, float* buf, long long count,
                                        const float* lr_at, float momentum, float wd, int nesterov) {
    const float lr = *lr_at;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        dn_sgd_one(params + i, grads + i, buf + i, lr, momentum, wd, nesterov);
    }
}

extern "C" __global__ void sgd_step_vec4_f32(float* params, const float* grads, float* buf, long long count,
                                             const float* lr_at, float momentum, float wd, int nesterov) {
    const float lr = *lr_at;
    const long long vecs = count / 4;
    const long long first = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    const long long step = (long long) gridDim.x * blockDim.x;
    for (long long v = first; v < vecs; v += step) {
        float4 p = reinterpret_cast<float4*>(params)[v];
        const float4 g = reinterpret_cast<const float4*>(grads)[v];
        float4 b = momentum != 0.0f ? reinterpret_cast<float4*>(buf)[v] : make_float4(0.f, 0.f, 0.f, 0.f);
        dn_sgd_one(&p.x, &g.x, &b.x, lr, momentum, wd, nesterov);
        dn_sgd_one(&p.y, &g.y, &b.y, lr, momentum, wd, nesterov);
        dn_sgd_one(&p.z, &g.z, &b.z, lr, momentum, wd, nesterov);
        dn_sgd_one(&p.w, &g.w, &b.w, lr, momentum, wd, nesterov);
        reinterpret_cast<float4*>(params)[v] = p;
        if (momentum != 0.0f) reinterpret_cast<float4*>(buf)[v] = b;
    }
    const long long tail = count - vecs * 4;
    if (first < tail) {
        const long long i = vecs * 4 + first;
        dn_sgd_one(params + i, grads + i, buf + i, lr, momentum, wd, nesterov);
    }
}
