package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Random;

import org.densenet.engine.Float16;
import org.densenet.engine.cuda.ffm.NativeLibrary;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The emulated device's cuda_fp16.h / cuda_bf16.h conversions (cuda_emulator.h, through the same
 * intrinsics the kernels call) equal org.densenet.engine.Float16, the CPU twin's rounding, which
 * Float16Test checks against the JDK and BF16's definition for all 2^32 floats. Here: every 16-bit
 * pattern widened; narrowed, every 16-bit value, the midpoint between it and the next (the ties),
 * one float32 step either side of that midpoint, the overflow and underflow thresholds, and four
 * million random float32 patterns. Runs where the emulated device is loaded (the gpu-emulated run).
 */
@Tag("gpu")
class EmulatorHalfConversionTest {
    private static MethodHandle convert;

    @BeforeAll
    static void load() throws NativeLibrary.LoadFailure {
        if (!EmulatedGpu.requested()) return;
        NativeLibrary lib = NativeLibrary.open(EmulatedGpu.loadDriver().toString());
        convert = lib.function("dn_emu_convert", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                ValueLayout.JAVA_LONG));
    }

    private static void requireEmulator() {
        Assumptions.assumeTrue(convert != null, "needs the emulated device (-Ddensenet.gpu=emulated): its conversions are what is tested");
    }

    private static short[] narrow(int mode, float[] in) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocateFrom(ValueLayout.JAVA_FLOAT, in), dst = a.allocate(ValueLayout.JAVA_SHORT, in.length);
            convert.invokeExact(mode, src, dst, (long) in.length);
            return dst.toArray(ValueLayout.JAVA_SHORT);
        }
    }

    private static float[] widen(int mode, short[] in) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocateFrom(ValueLayout.JAVA_SHORT, in), dst = a.allocate(ValueLayout.JAVA_FLOAT, in.length);
            convert.invokeExact(mode, src, dst, (long) in.length);
            return dst.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    private static float fromBits(boolean bf16, int bits) {
        return bf16 ? Float16.fromBf16Bits((short) bits) : Float16.fromFp16Bits((short) bits);
    }

    @ParameterizedTest(name = "bf16 {0}")
    @ValueSource(booleans = {true, false})
    void everySixteenBitPatternWidensAsFloat16Does(boolean bf16) throws Throwable {
        requireEmulator();
        short[] all = new short[1 << 16];
        for (int i = 0; i < all.length; i++) all[i] = (short) i;
        float[] got = widen(bf16 ? 2 : 3, all);
        for (int i = 0; i < all.length; i++) {
            int expected = Float.floatToRawIntBits(fromBits(bf16, i)), actual = Float.floatToRawIntBits(got[i]);
            int at = i;
            assertEquals(expected, actual, () -> "0x" + Integer.toHexString(at) + " widened");
        }
    }

    @ParameterizedTest(name = "bf16 {0}")
    @ValueSource(booleans = {true, false})
    void tiesNeighboursThresholdsAndRandomFloatsNarrowAsFloat16Does(boolean bf16) throws Throwable {
        requireEmulator();
        float[] in = new float[(1 << 16) * 4 + 16 + (4 << 20)];
        int k = 0;
        for (int b = 0; b < 1 << 16; b++) {
            float v = fromBits(bf16, b);
            float next = fromBits(bf16, b + 1 & 0xffff);   // the next pattern up in magnitude, same sign
            float mid = (float) (((double) v + next) / 2); // exact: a 16-bit midpoint has few enough bits for float32
            in[k++] = v;
            in[k++] = mid;
            in[k++] = Math.nextUp(mid);
            in[k++] = Math.nextDown(mid);
        }
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0xffc00001), 65504f, 65519.996f, 65520f, 0x1p-24f, 0x1p-25f,
            Math.nextUp(0x1p-25f)};
        for (float f : special) in[k++] = f;
        Random rng = new Random(16);
        while (k < in.length) in[k++] = Float.intBitsToFloat(rng.nextInt());
        short[] got = narrow(bf16 ? 0 : 1, in);
        for (int i = 0; i < in.length; i++) {
            short expected = bf16 ? Float16.toBf16Bits(in[i]) : Float16.toFp16Bits(in[i]);
            int at = i;
            assertEquals(expected, got[i], () -> "float 0x" + Integer.toHexString(Float.floatToRawIntBits(in[at])) + " (" + in[at] + ") narrowed");
        }
    }
}
