package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.Checks.fail;
import static org.densenet.engine.cpu.Checks.runnable;

import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.ImageNormalization;
import org.densenet.engine.Tensor;

/**
 * Copies between dense row-major host arrays and (possibly channel-sliced) CPU tensors.
 * Float host arrays convert to and from either floating dtype; int arrays need I32.
 */
final class Transfers {
    private final CpuBackend backend;

    Transfers(CpuBackend backend) {
        this.backend = backend;
    }

    void upload(float[] src, Tensor dst) {
        check("upload", src.length, dst, true);
        backend.forRuns(dst, (r, s, len) -> {
            int o = CpuBackend.runOffset(dst, r) + s, h = hostIndex(dst, r, s);
            if (dst.dtype() == DType.F32) {
                System.arraycopy(src, h, CpuBackend.f32(dst), o, len);
            } else {
                double[] d = CpuBackend.f64(dst);
                for (int i = 0; i < len; i++) d[o + i] = src[h + i];
            }
        });
    }

    void upload(double[] src, Tensor dst) {
        check("upload", src.length, dst, true);
        backend.forRuns(dst, (r, s, len) -> {
            int o = CpuBackend.runOffset(dst, r) + s, h = hostIndex(dst, r, s);
            if (dst.dtype() == DType.F64) {
                System.arraycopy(src, h, CpuBackend.f64(dst), o, len);
            } else {
                float[] d = CpuBackend.f32(dst);
                for (int i = 0; i < len; i++) d[o + i] = (float) src[h + i];
            }
        });
    }

    void upload(int[] src, Tensor dst) {
        check("upload", src.length, dst, false);
        backend.forRuns(dst, (r, s, len) ->
                System.arraycopy(src, hostIndex(dst, r, s), CpuBackend.i32(dst), CpuBackend.runOffset(dst, r) + s, len));
    }

    void uploadImages(byte[] src, Tensor dst, ImageNormalization norm) {
        String op = "uploadImages";
        int c = Backend.checkImageBatch(op, src.length, dst, norm);
        float[] d = CpuBackend.f32(dst);
        int plane = dst.dim(2) * dst.dim(3), base = Math.toIntExact(dst.offset());
        backend.par().run(dst.dim(0) * c, (r, worker) -> {
            int ch = r % c, from = r * plane;
            for (int i = 0; i < plane; i++) d[base + from + i] = norm.apply(src[from + i] & 0xFF, ch);
        });
    }

    void download(Tensor src, float[] dst) {
        check("download", dst.length, src, true);
        backend.forRuns(src, (r, s, len) -> {
            int o = CpuBackend.runOffset(src, r) + s, h = hostIndex(src, r, s);
            if (src.dtype() == DType.F32) {
                System.arraycopy(CpuBackend.f32(src), o, dst, h, len);
            } else {
                double[] d = CpuBackend.f64(src);
                for (int i = 0; i < len; i++) dst[h + i] = (float) d[o + i];
            }
        });
    }

    void download(Tensor src, double[] dst) {
        check("download", dst.length, src, true);
        backend.forRuns(src, (r, s, len) -> {
            int o = CpuBackend.runOffset(src, r) + s, h = hostIndex(src, r, s);
            if (src.dtype() == DType.F64) {
                System.arraycopy(CpuBackend.f64(src), o, dst, h, len);
            } else {
                float[] d = CpuBackend.f32(src);
                for (int i = 0; i < len; i++) dst[h + i] = d[o + i];
            }
        });
    }

    void download(Tensor src, int[] dst) {
        check("download", dst.length, src, false);
        backend.forRuns(src, (r, s, len) ->
                System.arraycopy(CpuBackend.i32(src), CpuBackend.runOffset(src, r) + s, dst, hostIndex(src, r, s), len));
    }

    private static int hostIndex(Tensor t, int run, int start) {
        return (int) (run * (t.numel() / CpuBackend.runs(t))) + start;
    }

    private void check(String op, int hostLength, Tensor t, boolean floating) {
        backend.own(op, t);
        runnable(op, "tensor", t);
        if (hostLength != t.numel()) throw fail(op, "host array of " + hostLength + " elements for tensor " + t + " of " + t.numel());
        if (t.dtype().isFloating() != floating) {
            throw fail(op, (floating ? "a floating" : "an int") + " host array does not fit a " + t.dtype() + " tensor");
        }
    }
}
