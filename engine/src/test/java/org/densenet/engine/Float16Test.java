package org.densenet.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

/** Every one of the 2^32 float32 bit patterns, converted to FP16 and BF16 and back. */
class Float16Test {
    /**
     * BF16 by its definition: of the two BF16 values around f (f with its low 16 bits cleared, and
     * the next one away from zero), the nearer, in exact double arithmetic; on a tie the one with an
     * even last bit. Overflow past the largest finite BF16 rounds to infinity the same way, as the
     * next value after it is infinity's bit pattern.
     */
    private static int referenceBf16(int bits) {
        float f = Float.intBitsToFloat(bits);
        if (Float.isNaN(f)) return -1;
        if (Float.isInfinite(f)) return bits >>> 16;
        int down = bits >>> 16, up = down + 1;
        double d = Math.abs((double) f - Float.intBitsToFloat(down << 16));
        double u = Math.abs((double) Float.intBitsToFloat(up << 16) - f);
        if ((up & 0x7fff) == 0x7f80) u = 0x1p128 - Math.abs((double) f); // infinity counts as the next step, 2^128
        if (d < u) return down;
        if (u < d) return up & 0xffff;
        return (down & 1) == 0 ? down : up & 0xffff;
    }

    @Test
    void fp16MatchesTheJdkForEveryFloat() {
        AtomicLong wrong = new AtomicLong(), firstWrong = new AtomicLong(-1);
        IntStream.range(0, 1 << 16).parallel().forEach(hi -> {
            for (int lo = 0; lo < 1 << 16; lo++) {
                int bits = hi << 16 | lo;
                float f = Float.intBitsToFloat(bits);
                short mine = Float16.toFp16Bits(f), jdk = Float.floatToFloat16(f);
                boolean ok = Float.isNaN(f)
                        ? (mine & 0x7c00) == 0x7c00 && (mine & 0x3ff) != 0 && (mine & 0x8000) == (jdk & 0x8000)
                        : mine == jdk && Float.floatToRawIntBits(Float16.fromFp16Bits(mine)) == Float.floatToRawIntBits(Float.float16ToFloat(jdk));
                if (!ok && wrong.getAndIncrement() == 0) firstWrong.set(bits & 0xffffffffL);
            }
        });
        assertEquals(0, wrong.get(), () -> "first wrong float bits: 0x" + Long.toHexString(firstWrong.get()));
    }

    @Test
    void bf16MatchesItsDefinitionForEveryFloat() {
        AtomicLong wrong = new AtomicLong(), firstWrong = new AtomicLong(-1);
        IntStream.range(0, 1 << 16).parallel().forEach(hi -> {
            for (int lo = 0; lo < 1 << 16; lo++) {
                int bits = hi << 16 | lo;
                int mine = Float16.toBf16Bits(Float.intBitsToFloat(bits)) & 0xffff;
                int ref = referenceBf16(bits);
                boolean ok = ref < 0 ? (mine & 0x7f80) == 0x7f80 && (mine & 0x7f) != 0 && (mine & 0x8000) == (bits >>> 16 & 0x8000) : mine == ref;
                if (!ok && wrong.getAndIncrement() == 0) firstWrong.set(bits & 0xffffffffL);
            }
        });
        assertEquals(0, wrong.get(), () -> "first wrong float bits: 0x" + Long.toHexString(firstWrong.get()));
    }

    @Test
    void namedEdgesOfBothFormats() {
        // FP16: largest finite, the overflow tie, smallest subnormal and the tie below it
        assertEquals(65504f, Float16.roundFp16(65519.99f));
        assertEquals(Float.POSITIVE_INFINITY, Float16.roundFp16(65520f));
        assertEquals(0x1p-24f, Float16.roundFp16(0x1.000002p-25f));
        assertEquals(0f, Float16.roundFp16(0x1p-25f));
        assertEquals(-0f, Float16.roundFp16(-0x1p-26f));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(Float16.roundFp16(-0x1p-26f)), "the sign of zero is kept");
        assertEquals(2048f, Float16.roundFp16(2049f), "a tie goes to the even neighbour");
        assertEquals(2052f, Float16.roundFp16(2051f));
        // BF16: 1 + 2^-8 is a tie between 1 and 1 + 2^-7, to 1; 1 + 3 * 2^-8 goes up to 1 + 2^-6
        assertEquals(1f, Float16.roundBf16(1 + 0x1p-8f));
        assertEquals(1 + 0x1p-6f, Float16.roundBf16(1 + 3 * 0x1p-8f));
        assertEquals(Float.POSITIVE_INFINITY, Float16.roundBf16(Float.MAX_VALUE));
        assertEquals(0f, Float16.roundBf16(Float.MIN_VALUE), "float32's smallest subnormal is below half of BF16's");
        assertEquals(Float.intBitsToFloat(0x10000), Float16.roundBf16(Float.intBitsToFloat(0x8001)), "BF16 subnormals round like normals");
        assertTrue(Float.isNaN(Float16.roundBf16(Float.intBitsToFloat(0x7f800001))), "a NaN whose payload lies in the low bits stays NaN");
        assertTrue(Float.isNaN(Float16.roundFp16(Float.intBitsToFloat(0xff800001))));
        assertEquals(Float.NEGATIVE_INFINITY, Float16.roundFp16(Float.NEGATIVE_INFINITY));
    }
}
