// Dynamic loss scaling for FP16 training (torch.amp.GradScaler's rules), with the scaler's state in
// device memory so that the host reads nothing per step and a captured step replays it all. The state
// is a float[5] (org.densenet.engine.LossScaling): [0] scale, [1] clean steps in a row, [2] 1 when
// the last check found an inf or NaN, [3] 1 / the scale the checked gradients were computed with,
// [4] skipped steps. The SGD kernels (sgd.cu) read [2] (skip the step) and [3] (unscale).
//   loss_scale_f32:          x *= state[0], the loss gradient before backward (a power of two: exact)
//   grads_nonfinite_f32:     partial[b] = 1 when block b's grid-stride share of the flat gradient
//                            buffer holds an inf or NaN, else 0: the one pass over the gradients
//   loss_scale_update_f32:   one block: ORs the partials, then GradScaler.update in float32, operation
//                            for operation as LossScaling.update computes it on the CPU
#include "common.cuh"

#define DN_FLOAT_MAX 3.402823466e+38f

extern "C" __global__ void loss_scale_f32(float* x, long long count, const float* state) {
    const float scale = state[0];
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < count; i += (long long) gridDim.x * blockDim.x) {
        x[i] = __fmul_rn(x[i], scale);
    }
}

extern "C" __global__ void grads_nonfinite_f32(const float* grads, long long count, float* partial) {
    float bad = 0.0f;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < count; i += (long long) gridDim.x * blockDim.x) {
        if (!(fabsf(grads[i]) <= DN_FLOAT_MAX)) bad = 1.0f;   // NaN fails the comparison too
    }
    bad = dn_block_sum(bad);
    if (threadIdx.x == 0) partial[blockIdx.x] = bad > 0.0f ? 1.0f : 0.0f;
}

extern "C" __global__ void loss_scale_update_f32(const float* partial, int blocks, float* state, float growth, float backoff,
                                                 int interval) {
    float any = 0.0f;
    for (int b = threadIdx.x; b < blocks; b += blockDim.x) any = fmaxf(any, partial[b]);
    any = dn_block_sum(any);
    if (threadIdx.x != 0) return;
    const float scale = state[0];
    state[2] = any > 0.0f ? 1.0f : 0.0f;
    state[3] = 1.0f / scale;   // IEEE division (no fast-math), as Java divides
    if (any > 0.0f) {
        state[0] = __fmul_rn(scale, backoff);
        state[1] = 0.0f;
        state[4] = __fadd_rn(state[4], 1.0f);
        return;
    }
    float clean = __fadd_rn(state[1], 1.0f);
    if (clean >= (float) interval) {
        const float grown = __fmul_rn(scale, growth);
        if (fabsf(grown) <= DN_FLOAT_MAX) state[0] = grown;
        clean = 0.0f;
    }
    state[1] = clean;
}
