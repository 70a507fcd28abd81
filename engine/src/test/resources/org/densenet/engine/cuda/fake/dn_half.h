/*
 * Float32 to and from BF16 and FP16 bits, rounding to nearest even: the conversions of CUDA's
 * __float2bfloat16_rn / __float2half_rn, written operation for operation as
 * org.densenet.engine.Float16 computes them (EmulatorHalfConversionTest compares the two), so the
 * emulated device, the stand-in cuDNN and the CPU twin round every value alike. NaN stays NaN
 * (quiet, sign and high payload kept). Plain C, shared by cuda_emulator.h and fake_cudnn.c.
 */
#ifndef DN_HALF_H
#define DN_HALF_H

#include <stdint.h>
#include <string.h>

static inline uint32_t dn_float_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static inline float dn_bits_float(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static inline uint16_t dn_float_to_bf16_bits(float f) {
    uint32_t bits = dn_float_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((bits >> 16) | 0x0040u);
    /* adding 0x7fff plus the kept part's lowest bit rounds ties to even; a carry into the exponent is right, up to infinity */
    return (uint16_t) ((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

static inline float dn_bf16_bits_to_float(uint16_t b) {
    return dn_bits_float((uint32_t) b << 16);
}

static inline uint16_t dn_float_to_fp16_bits(float f) {
    uint32_t bits = dn_float_bits(f);
    uint32_t sign = (bits >> 16) & 0x8000u;
    uint32_t abs = bits & 0x7fffffffu;
    if (abs > 0x7f800000u) return (uint16_t) (sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
    if (abs >= 0x477ff000u) return (uint16_t) (sign | 0x7c00u); /* from 65520 (halfway past 65504) on, and infinity */
    if (abs >= 0x38800000u) { /* 2^-14 and up: normal in FP16; rebias the exponent by 127 - 15, round away 13 bits */
        uint32_t r = abs - (112u << 23);
        return (uint16_t) (sign | ((r + 0x0fffu + ((r >> 13) & 1u)) >> 13));
    }
    if (abs < 0x33000000u) return (uint16_t) sign; /* below 2^-25, half the smallest subnormal: zero (2^-25 itself ties to even) */
    /* subnormal: the significand with its hidden bit, shifted so that units are 2^-24, ties to even */
    {
        uint32_t exp = abs >> 23;
        uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - exp; /* 14..24 for exp 102..112 */
        uint32_t kept = mant >> shift;
        uint32_t rest = mant & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rest > half || (rest == half && (kept & 1u) != 0)) kept++;
        return (uint16_t) (sign | kept);
    }
}

static inline float dn_fp16_bits_to_float(uint16_t h) {
    uint32_t bits = h;
    uint32_t sign = (bits & 0x8000u) << 16;
    uint32_t exp = (bits >> 10) & 0x1fu;
    uint32_t mant = bits & 0x3ffu;
    if (exp == 0x1fu) return dn_bits_float(sign | 0x7f800000u | (mant << 13));
    if (exp != 0) return dn_bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
    {
        float v = (float) mant * 0x1p-24f; /* subnormal or zero: exact */
        return sign != 0 ? -v : v;
    }
}

#endif
