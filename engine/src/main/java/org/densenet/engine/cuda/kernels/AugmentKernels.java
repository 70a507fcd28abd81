package org.densenet.engine.cuda.kernels;

import java.util.Objects;
import org.densenet.engine.DType;

/**
 * Launcher of kernels/src/main/cuda/augment.cu: a uint8 batch (NCHW or NHWC, contiguous) to a
 * float32 NCHW batch (contiguous), cropped, flipped and normalised as {@link Augmentation} says,
 * with randomness from CounterRng(seed, firstIndex + sample). {@link AugmentReference} is its CPU twin.
 */
public final class AugmentKernels {
    public static final String CROP_FLIP = "augment_crop_flip_u8";

    private final KernelModule module;

    public AugmentKernels(KernelModule module) {
        this.module = Objects.requireNonNull(module, "module");
    }

    /** src: n*c*h*w bytes at address src; dst: n*c*h*w floats at address dst (4-byte aligned). */
    public void cropFlipNormalize(long src, boolean nhwc, int n, int c, int h, int w, Augmentation aug,
                                  long seed, long firstIndex, long dst) {
        cropFlipNormalize(src, nhwc, n, c, h, w, aug, seed, firstIndex, dst, DType.F32);
    }

    /** As the float32 form, with dst of {@code dstType}: F32, or BF16 / F16 (each value rounded once to nearest even). */
    public void cropFlipNormalize(long src, boolean nhwc, int n, int c, int h, int w, Augmentation aug,
                                  long seed, long firstIndex, long dst, DType dstType) {
        checkBatch(n, c, h, w, aug);
        if (src == 0) throw new IllegalArgumentException("augment: null source address");
        String kernel = switch (dstType) {
            case F32 -> CROP_FLIP;
            case BF16, F16 -> CROP_FLIP + "_" + DeviceSlice.suffix(dstType);
            default -> throw new IllegalArgumentException("augment: images are written as float32 or 16 bits, not " + dstType);
        };
        if (dst == 0 || (dst & (dstType.bytes() - 1)) != 0) {
            throw new IllegalArgumentException("augment: destination 0x" + Long.toHexString(dst) + " is null or not aligned for " + dstType);
        }
        module.launch(kernel, LaunchGeometry.rows((long) n * c, (long) h * w), new KernelArgs().ptr(src).bool(nhwc).ptr(dst)
                .i32(n).i32(c).i32(h).i32(w).i32(aug.pad()).bool(aug.flip()).f32x8(aug.normalizeStruct()).i64(seed).i64(firstIndex));
    }

    static void checkBatch(int n, int c, int h, int w, Augmentation aug) {
        if (n < 1 || c < 1 || h < 1 || w < 1) throw new IllegalArgumentException("augment: bad batch shape " + n + "x" + c + "x" + h + "x" + w);
        if (c != aug.channels()) throw new IllegalArgumentException("augment: images have " + c + " channels, normalisation has " + aug.channels());
        if ((long) h * w > Integer.MAX_VALUE / Augmentation.MAX_CHANNELS) throw new IllegalArgumentException("augment: images of " + h + "x" + w + " are too large");
    }
}
