package org.densenet.engine;

/**
 * Float32 to and from the two 16-bit formats, rounding to nearest even as CUDA's
 * {@code __float2bfloat16_rn} and {@code __float2half_rn} do: the CPU twin of 16-bit storage.
 * BF16 is float32's upper half (8 exponent bits, 7 mantissa bits); FP16 has 5 exponent bits and 10
 * mantissa bits, subnormals from 2^-24, and overflows to infinity from 65520 on. NaN stays NaN
 * (quiet, sign kept).
 */
public final class Float16 {
    private Float16() {
    }

    public static short toBf16Bits(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x0040);
        // adding 0x7fff plus the kept part's lowest bit rounds ties to even; a carry into the exponent is right, up to infinity
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    public static float fromBf16Bits(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    public static float roundBf16(float f) {
        return fromBf16Bits(toBf16Bits(f));
    }

    public static short toFp16Bits(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) return (short) (sign | 0x7e00 | ((abs >>> 13) & 0x3ff));
        if (abs >= 0x477ff000) return (short) (sign | 0x7c00); // from 65520 (halfway past 65504) on, and infinity
        if (abs >= 0x38800000) { // 2^-14 and up: normal in FP16; rebias the exponent by 127 - 15, round away 13 bits
            int r = abs - (112 << 23);
            return (short) (sign | ((r + 0x0fff + ((r >>> 13) & 1)) >>> 13));
        }
        if (abs < 0x33000000) return (short) sign; // below 2^-25, half the smallest subnormal: zero (2^-25 itself ties to even, zero)
        // subnormal: the significand with its hidden bit, shifted so that units are 2^-24, ties to even
        int exp = abs >>> 23;
        int mant = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - exp; // 14..24 for exp 102..112
        int kept = mant >>> shift;
        int rest = mant & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rest > half || (rest == half && (kept & 1) != 0)) kept++;
        return (short) (sign | kept);
    }

    public static float fromFp16Bits(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp != 0) return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
        float v = mant * 0x1p-24f; // subnormal or zero: exact
        return sign != 0 ? -v : v;
    }

    public static float roundFp16(float f) {
        return fromFp16Bits(toFp16Bits(f));
    }

    /** The BF16 (or FP16) bits of every value, rounded to nearest even: what a 16-bit upload sends. */
    public static short[] toBits(float[] v, boolean bf16) {
        short[] b = new short[v.length];
        if (bf16) {
            for (int i = 0; i < v.length; i++) b[i] = toBf16Bits(v[i]);
        } else {
            for (int i = 0; i < v.length; i++) b[i] = toFp16Bits(v[i]);
        }
        return b;
    }

    /** Widens BF16 (or FP16) bits into {@code out}, exactly: what a 16-bit download receives. */
    public static void fromBits(short[] bits, boolean bf16, float[] out) {
        if (bf16) {
            for (int i = 0; i < bits.length; i++) out[i] = fromBf16Bits(bits[i]);
        } else {
            for (int i = 0; i < bits.length; i++) out[i] = fromFp16Bits(bits[i]);
        }
    }

    /** Rounds {@code len} values from {@code off} in place to {@code p}'s storage. */
    public static void round(float[] a, int off, int len, Precision p) {
        switch (p) {
            case BF16 -> {
                for (int i = off; i < off + len; i++) a[i] = roundBf16(a[i]);
            }
            case FP16 -> {
                for (int i = off; i < off + len; i++) a[i] = roundFp16(a[i]);
            }
            default -> {
            }
        }
    }
}
