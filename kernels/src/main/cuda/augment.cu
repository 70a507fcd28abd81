// Batch augmentation on the device: uint8 images [N, C, H, W] (nhwc = 0) or [N, H, W, C]
// (nhwc = 1), contiguous, to float32 [N, C, H, W] contiguous:
//   1. random crop of H x W out of the image zero-padded by pad on every side (pad = 0: no crop),
//   2. horizontal flip of the crop with probability 1/2 (when flip != 0),
//   3. (v / 255 - mean[c]) / std[c]  (ToTensor then Normalize; padding pixels are v = 0).
// Randomness: b = CounterRng.bits(seed, firstIndex + s) for sample s of the batch;
//   offY = (bits 40..63 of b) * (2 * pad + 1) >> 24, offX = (bits 16..39) * (2 * pad + 1) >> 24,
//   flipped = flip && (b & 1).
// org.densenet.engine.cuda.kernels.AugmentReference is the CPU twin; keep the two in step. The
// normalisation has no multiply-add to contract, so both sides round identically. The _bf16 and
// _f16 entry points write the batch in 16 bits, each float32 value rounded once (the CPU twin's
// uploadImages stores the same).
#include "common.cuh"

// Per-channel normalisation, passed by value (up to 4 channels: gray, RGB, RGBA).
struct DnNormalize {
    float mean[4];
    float std[4];
};

template <typename T>
__device__ __forceinline__ void dn_augment(const unsigned char* src, int nhwc, T* dst,
                                           int n, int c, int h, int w, int pad, int flip,
                                           DnNormalize norm, unsigned long long seed, long long firstIndex) {
    const long long hw = (long long) h * w;
    const unsigned long long range = (unsigned long long) (2 * pad + 1);
    DN_ROWS_LOOP(r, (long long) n * c) {                    // r = s * c + ch, one output plane
        const long long s = r / c;
        const int ch = (int) (r - s * c);
        const unsigned long long b = dn_rng_bits(seed, (unsigned long long) (firstIndex + s));
        const int offY = (int) ((((b >> 40) & 0xFFFFFFULL) * range) >> 24);
        const int offX = (int) ((((b >> 16) & 0xFFFFFFULL) * range) >> 24);
        const bool flipped = flip && (b & 1ULL);
        const unsigned char* img = src + s * hw * c;
        T* out = dst + r * hw;
        const float mean = norm.mean[ch], sd = norm.std[ch];
        DN_COLS_LOOP(i, hw) {
            const int y = (int) (i / w), x = (int) (i - (long long) y * w);
            const int sy = y + offY - pad;
            const int sx = (flipped ? w - 1 - x : x) + offX - pad;
            unsigned int v = 0;
            if (sy >= 0 && sy < h && sx >= 0 && sx < w) {
                const long long pix = (long long) sy * w + sx;
                v = nhwc ? img[pix * c + ch] : img[ch * hw + pix];
            }
            out[i] = dn_st<T>(((float) v / 255.0f - mean) / sd);
        }
    }
}

extern "C" __global__ void augment_crop_flip_u8(const unsigned char* src, int nhwc, float* dst,
                                                int n, int c, int h, int w, int pad, int flip,
                                                DnNormalize norm, unsigned long long seed, long long firstIndex) {
    dn_augment(src, nhwc, dst, n, c, h, w, pad, flip, norm, seed, firstIndex);
}
extern "C" __global__ void augment_crop_flip_u8_bf16(const unsigned char* src, int nhwc, __nv_bfloat16* dst,
                                                     int n, int c, int h, int w, int pad, int flip,
                                                     DnNormalize norm, unsigned long long seed, long long firstIndex) {
    dn_augment(src, nhwc, dst, n, c, h, w, pad, flip, norm, seed, firstIndex);
}
extern "C" __global__ void augment_crop_flip_u8_f16(const unsigned char* src, int nhwc, __half* dst,
                                                    int n, int c, int h, int w, int pad, int flip,
                                                    DnNormalize norm, unsigned long long seed, long long firstIndex) {
    dn_augment(src, nhwc, dst, n, c, h, w, pad, flip, norm, seed, firstIndex);
}
