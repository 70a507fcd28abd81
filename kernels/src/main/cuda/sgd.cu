// Fused SGD step over flat float32 buffers, torch.optim.SGD semantics with dampening 0:
//   g' = g + wd * p;  if momentum != 0: buf = momentum * buf + g', g' = nesterov ? g' + momentum * buf : buf
//   p -= lr * g'
// grads are only read; buf is neither read nor written when momentum == 0 (it may be null then).
// The learning rate is read from device memory (one float at lr), not passed by value, so that a
// step captured in a CUDA graph follows a schedule: the host writes the rate before each replay.
// A loss-scaled step passes the scaler's state (loss_scale.cu) as amp, else null: the step is skipped
// when amp[2] is set (its gradients held an inf or NaN), and every gradient is multiplied by amp[3]
// (1 / the loss scale) as it is read; without amp the factor is 1, an exact product.
// Every product is rounded before its sum (no fused multiply-add), as Java evaluates the CPU
// backend's loop (ElementwiseF32.sgd), so parameters match it bit for bit.
//   sgd_step_f32:      one element per thread step, any alignment.
//   sgd_step_vec4_f32: float4 loads/stores over the first count / 4 * 4 elements (the launcher checks
//                      that every buffer is 16-byte aligned), then the count % 4 tail elements by the
//                      first threads of the grid.
//   sgd_step_bf16, sgd_step_vec4_bf16, sgd_step_f16, sgd_step_vec4_f16: the same step, which also
//                      writes each updated float32 master weight, rounded once, into the 16-bit
//                      copy the convolutions read (copy16, same element offsets as params), in the
//                      same pass; a skipped step leaves both as they were, so they still agree.
#include "common.cuh"

__device__ __forceinline__ void dn_sgd_one(float* p, float g, float* buf,
                                           float lr, float momentum, float wd, int nesterov) {
    float d = __fadd_rn(g, __fmul_rn(wd, *p));
    if (momentum != 0.0f) {
        const float b = __fadd_rn(__fmul_rn(momentum, *buf), d);
        *buf = b;
        d = nesterov ? __fadd_rn(d, __fmul_rn(momentum, b)) : b;
    }
    *p = __fsub_rn(*p, __fmul_rn(lr, d));
}

template <typename H>
__device__ __forceinline__ void dn_sgd_step(float* params, const float* grads, float* buf, long long count,
                                            const float* lr_at, float momentum, float wd, int nesterov, const float* amp, H* copy16) {
    if (amp != nullptr && amp[2] != 0.0f) return;
    const float lr = *lr_at, unscale = amp != nullptr ? amp[3] : 1.0f;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        dn_sgd_one(params + i, __fmul_rn(grads[i], unscale), buf + i, lr, momentum, wd, nesterov);
        if (copy16 != nullptr) copy16[i] = dn_st<H>(params[i]);
    }
}

template <typename H>
__device__ __forceinline__ void dn_sgd_step_vec4(float* params, const float* grads, float* buf, long long count,
                                                 const float* lr_at, float momentum, float wd, int nesterov, const float* amp, H* copy16) {
    if (amp != nullptr && amp[2] != 0.0f) return;
    const float lr = *lr_at, unscale = amp != nullptr ? amp[3] : 1.0f;
    const long long vecs = count / 4;
    const long long first = blockIdx.x * (long long) blockDim.x + threadIdx.x;
    const long long step = (long long) gridDim.x * blockDim.x;
    for (long long v = first; v < vecs; v += step) {
        float4 p = reinterpret_cast<float4*>(params)[v];
        const float4 g = reinterpret_cast<const float4*>(grads)[v];
        float4 b = momentum != 0.0f ? reinterpret_cast<float4*>(buf)[v] : make_float4(0.f, 0.f, 0.f, 0.f);
        dn_sgd_one(&p.x, __fmul_rn(g.x, unscale), &b.x, lr, momentum, wd, nesterov);
        dn_sgd_one(&p.y, __fmul_rn(g.y, unscale), &b.y, lr, momentum, wd, nesterov);
        dn_sgd_one(&p.z, __fmul_rn(g.z, unscale), &b.z, lr, momentum, wd, nesterov);
        dn_sgd_one(&p.w, __fmul_rn(g.w, unscale), &b.w, lr, momentum, wd, nesterov);
        reinterpret_cast<float4*>(params)[v] = p;
        if (momentum != 0.0f) reinterpret_cast<float4*>(buf)[v] = b;
        if (copy16 != nullptr) {
            H* h = copy16 + 4 * v;
            h[0] = dn_st<H>(p.x);
            h[1] = dn_st<H>(p.y);
            h[2] = dn_st<H>(p.z);
            h[3] = dn_st<H>(p.w);
        }
    }
    const long long tail = count - vecs * 4;
    if (first < tail) {
        const long long i = vecs * 4 + first;
        dn_sgd_one(params + i, __fmul_rn(grads[i], unscale), buf + i, lr, momentum, wd, nesterov);
        if (copy16 != nullptr) copy16[i] = dn_st<H>(params[i]);
    }
}

extern "C" __global__ void sgd_step_f32(float* params, const float* grads, float* buf, long long count,
                                        const float* lr_at, float momentum, float wd, int nesterov, const float* amp) {
    dn_sgd_step<float>(params, grads, buf, count, lr_at, momentum, wd, nesterov, amp, nullptr);
}

extern "C" __global__ void sgd_step_vec4_f32(float* params, const float* grads, float* buf, long long count,
                                             const float* lr_at, float momentum, float wd, int nesterov, const float* amp) {
    dn_sgd_step_vec4<float>(params, grads, buf, count, lr_at, momentum, wd, nesterov, amp, nullptr);
}

extern "C" __global__ void sgd_step_bf16(float* params, const float* grads, float* buf, long long count,
                                         const float* lr_at, float momentum, float wd, int nesterov, const float* amp,
                                         __nv_bfloat16* copy16) {
    dn_sgd_step(params, grads, buf, count, lr_at, momentum, wd, nesterov, amp, copy16);
}

extern "C" __global__ void sgd_step_vec4_bf16(float* params, const float* grads, float* buf, long long count,
                                              const float* lr_at, float momentum, float wd, int nesterov, const float* amp,
                                              __nv_bfloat16* copy16) {
    dn_sgd_step_vec4(params, grads, buf, count, lr_at, momentum, wd, nesterov, amp, copy16);
}

extern "C" __global__ void sgd_step_f16(float* params, const float* grads, float* buf, long long count,
                                        const float* lr_at, float momentum, float wd, int nesterov, const float* amp,
                                        __half* copy16) {
    dn_sgd_step(params, grads, buf, count, lr_at, momentum, wd, nesterov, amp, copy16);
}

extern "C" __global__ void sgd_step_vec4_f16(float* params, const float* grads, float* buf, long long count,
                                             const float* lr_at, float momentum, float wd, int nesterov, const float* amp,
                                             __half* copy16) {
    dn_sgd_step_vec4(params, grads, buf, count, lr_at, momentum, wd, nesterov, amp, copy16);
}
