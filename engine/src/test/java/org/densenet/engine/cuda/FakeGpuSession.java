package org.densenet.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.densenet.engine.Backend;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.OpTimer;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.ffm.Cublas;
import org.densenet.engine.cuda.ffm.CudaLibraries;
import org.densenet.engine.cuda.ffm.Cudnn;
import org.densenet.engine.cuda.ffm.DriverProbe;
import org.densenet.engine.cuda.ffm.NativeLibrary;

/**
 * Runs in its own JVM (started by {@link CudaBackendOnFakesTest}): the whole CudaBackend, through
 * JCuda's real JNI library, over stand-in libcuda, cuDNN and cuBLAS working in host memory. Once a
 * library named libcuda.so.1 is loaded, a process believes it has a driver, which no other test
 * may see; hence the separate process. Prints one line per check and exits 0 when all pass.
 */
public final class FakeGpuSession {
    private static final Random RNG = new Random(11);

    public static void main(String[] args) throws Throwable {
        Path dir = Path.of(args[0]);
        NativeLibrary cuda = NativeLibrary.open(dir.resolve("libcuda.so.1").toString());
        DriverProbe probe = new DriverProbe(cuda);
        probe.init();
        NativeLibrary dnnLib = NativeLibrary.open(dir.resolve("libfake_cudnn.so").toString());
        NativeLibrary blasLib = NativeLibrary.open(dir.resolve("libfake_cublas.so").toString());
        scriptOneAlgorithm(dnnLib);
        CudaLibraries.Driver driver = new CudaLibraries.Driver("fake", probe, probe.driverVersion(), probe.devices());
        Cudnn cudnn = new Cudnn(dnnLib);
        Cublas cublas = new Cublas(blasLib);
        CudaLibraries.Toolkit toolkit = new CudaLibraries.Toolkit(cudnn, "fake cudnn", cudnn.version(), cublas, "fake cublas",
                cublas.version(), "");
        try (CpuBackend cpu = new CpuBackend(1); CudaBackend gpu = CudaBackend.open(driver, toolkit, 0, false)) {
            check("name", "cuda:0 Fake H100 80GB HBM3".equals(gpu.name()), gpu.name());
            transfers(cpu, gpu);
            fillAndCopy(cpu, gpu);
            convolution(cpu, gpu);
            linear(cpu, gpu);
            memoryAndTimer(gpu);
            kernelsSayWhatFailed(gpu);
        }
        long live = (long) cuda.function("fake_live_allocations", FunctionDescriptor.of(ValueLayout.JAVA_LONG)).invokeExact();
        check("every cuMemAlloc freed at close", live == 0, live + " still allocated");
        long pinned = (long) cuda.function("fake_live_host_allocations", FunctionDescriptor.of(ValueLayout.JAVA_LONG)).invokeExact();
        check("every cuMemAllocHost (upload staging, loss read-back) freed at close", pinned == 0, pinned + " still allocated");
        System.out.println("ALL OK");
    }

    private static void scriptOneAlgorithm(NativeLibrary dnn) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            dnn.function("fake_script_find", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS)).invokeExact(1, a.allocateFrom(ValueLayout.JAVA_INT, 1),
                    a.allocateFrom(ValueLayout.JAVA_INT, 0), a.allocateFrom(ValueLayout.JAVA_INT, Cudnn.FMA_MATH),
                    a.allocateFrom(ValueLayout.JAVA_LONG, 4096L));
        }
    }

    private static void check(String what, boolean ok, String detail) {
        if (!ok) throw new AssertionError(what + ": " + detail);
        System.out.println("ok " + what);
    }

    private static float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = RNG.nextFloat() * 2 - 1;
        return v;
    }

    private static float[] values(Backend b, Tensor t) {
        float[] v = new float[Math.toIntExact(t.numel())];
        b.download(t, v);
        return v;
    }

    private static void same(String what, float[] expected, float[] actual) {
        HostDevice.assertClose(what, expected, actual);
        System.out.println("ok " + what);
    }

    /** A tensor of this shape on both backends with the same contents. */
    private static Tensor[] twin(CpuBackend cpu, CudaBackend gpu, float[] v, int... shape) {
        Tensor c = cpu.allocate(DType.F32, shape), g = gpu.allocate(DType.F32, shape);
        cpu.upload(v, c);
        gpu.upload(v, g);
        return new Tensor[] {c, g};
    }

    private static void transfers(CpuBackend cpu, CudaBackend gpu) {
        Tensor[] s = twin(cpu, gpu, new float[3 * 9 * 5 * 5], 3, 9, 5, 5);
        cpu.fill(s[0], Double.NaN);
        gpu.fill(s[1], Double.NaN);
        float[] v = random(3 * 4 * 5 * 5);
        cpu.upload(v, s[0].channels(2, 6));
        gpu.upload(v, s[1].channels(2, 6));
        same("upload into a channel slice, the rest untouched", values(cpu, s[0]), values(gpu, s[1]));
        same("download of a channel slice", v, values(gpu, s[1].channels(2, 6)));
        Tensor labels = gpu.allocate(DType.I32, 4);
        gpu.upload(new int[] {3, 1, 4, 1}, labels);
        int[] back = new int[4];
        gpu.download(labels, back);
        check("int32 round trip", Arrays.equals(back, new int[] {3, 1, 4, 1}), Arrays.toString(back));
        labels.close();
        s[0].close();
        s[1].close();
    }

    private static void fillAndCopy(CpuBackend cpu, CudaBackend gpu) {
        Tensor[] s = twin(cpu, gpu, random(2 * 7 * 3 * 3), 2, 7, 3, 3);
        Tensor[] d = twin(cpu, gpu, random(2 * 6 * 3 * 3), 2, 6, 3, 3);
        cpu.fill(s[0].channels(1, 3), 0.75);
        gpu.fill(s[1].channels(1, 3), 0.75);
        same("fill of a channel slice", values(cpu, s[0]), values(gpu, s[1]));
        cpu.copy(s[0].channels(0, 4), d[0].channels(2, 6), false);
        gpu.copy(s[1].channels(0, 4), d[1].channels(2, 6), false);
        same("copy slice to slice", values(cpu, d[0]), values(gpu, d[1]));
        Tensor[] packed = twin(cpu, gpu, random(2 * 4 * 3 * 3), 2, 4, 3, 3);
        cpu.copy(packed[0], d[0].channels(0, 4), false);
        gpu.copy(packed[1], d[1].channels(0, 4), false);
        same("copy packed to slice", values(cpu, d[0]), values(gpu, d[1]));
        for (Tensor[] t : List.of(s, d, packed)) {
            t[0].close();
            t[1].close();
        }
    }

    private static void convolution(CpuBackend cpu, CudaBackend gpu) {
        Conv2d conv = new Conv2d(1, 1);
        Tensor[] block = twin(cpu, gpu, random(2 * 9 * 6 * 6), 2, 9, 6, 6);
        Tensor[] flat = twin(cpu, gpu, random(3 * 4 * 9 + 5), 3 * 4 * 9 + 5);
        Tensor[] outs = twin(cpu, gpu, random(2 * 5 * 6 * 6), 2, 5, 6, 6);
        Tensor[] grads = twin(cpu, gpu, random(3 * 4 * 9 + 5), 3 * 4 * 9 + 5);
        int[] ws = {3, 4, 3, 3};
        long[] st = Tensor.contiguousStrides(ws);
        for (boolean accumulate : new boolean[] {false, true}) {
            cpu.convForward(block[0].channels(5, 9), flat[0].view(5, ws, st), outs[0].channels(1, 4), conv, accumulate);
            gpu.convForward(block[1].channels(5, 9), flat[1].view(5, ws, st), outs[1].channels(1, 4), conv, accumulate);
            same("conv forward slice -> slice, weights at an offset, accumulate " + accumulate, values(cpu, outs[0]), values(gpu, outs[1]));
            cpu.convBackwardData(outs[0].channels(1, 4), flat[0].view(5, ws, st), block[0].channels(5, 9), conv, accumulate);
            gpu.convBackwardData(outs[1].channels(1, 4), flat[1].view(5, ws, st), block[1].channels(5, 9), conv, accumulate);
            same("conv backward data into a slice, accumulate " + accumulate, values(cpu, block[0]), values(gpu, block[1]));
            cpu.convBackwardFilter(block[0].channels(5, 9), outs[0].channels(1, 4), grads[0].view(5, ws, st), conv, accumulate);
            gpu.convBackwardFilter(block[1].channels(5, 9), outs[1].channels(1, 4), grads[1].view(5, ws, st), conv, accumulate);
            same("conv backward filter into the flat buffer, accumulate " + accumulate, values(cpu, grads[0]), values(gpu, grads[1]));
        }
        for (Tensor[] t : List.of(block, flat, outs, grads)) {
            t[0].close();
            t[1].close();
        }
        // A new shape whose first call accumulates: the search scribbles over the output, which must be put back.
        Conv2d pointwise = new Conv2d(1, 0);
        int[] ws1 = {2, 4, 1, 1};
        long[] st1 = Tensor.contiguousStrides(ws1);
        Tensor[] x = twin(cpu, gpu, random(2 * 9 * 6 * 6), 2, 9, 6, 6);
        Tensor[] w = twin(cpu, gpu, random(8 + 7), 8 + 7);
        Tensor[] y = twin(cpu, gpu, random(2 * 5 * 6 * 6), 2, 5, 6, 6);
        Tensor[] dw = twin(cpu, gpu, random(8 + 7), 8 + 7);
        cpu.convForward(x[0].channels(5, 9), w[0].view(7, ws1, st1), y[0].channels(3, 5), pointwise, true);
        gpu.convForward(x[1].channels(5, 9), w[1].view(7, ws1, st1), y[1].channels(3, 5), pointwise, true);
        same("first call of a shape accumulates onto what the output held before the algorithm search", values(cpu, y[0]), values(gpu, y[1]));
        cpu.convBackwardData(y[0].channels(3, 5), w[0].view(7, ws1, st1), x[0].channels(5, 9), pointwise, true);
        gpu.convBackwardData(y[1].channels(3, 5), w[1].view(7, ws1, st1), x[1].channels(5, 9), pointwise, true);
        same("the same for backward data", values(cpu, x[0]), values(gpu, x[1]));
        cpu.convBackwardFilter(x[0].channels(5, 9), y[0].channels(3, 5), dw[0].view(7, ws1, st1), pointwise, true);
        gpu.convBackwardFilter(x[1].channels(5, 9), y[1].channels(3, 5), dw[1].view(7, ws1, st1), pointwise, true);
        same("the same for backward filter", values(cpu, dw[0]), values(gpu, dw[1]));
        for (Tensor[] t : List.of(x, w, y, dw)) {
            t[0].close();
            t[1].close();
        }
    }

    private static void linear(CpuBackend cpu, CudaBackend gpu) {
        int n = 5, f = 8, o = 3;
        Tensor[] x = twin(cpu, gpu, random(n * f), n, f);
        Tensor[] p = twin(cpu, gpu, random(o * f + o + 1), o * f + o + 1);
        Tensor[] y = twin(cpu, gpu, random(n * o), n, o);
        Tensor[] dp = twin(cpu, gpu, random(o * f + o + 1), o * f + o + 1);
        Tensor[] dx = twin(cpu, gpu, random(n * f), n, f);
        for (int i = 0; i < 2; i++) {
            Backend b = i == 0 ? cpu : gpu;
            Tensor w = p[i].view(1, new int[] {o, f}, new long[] {f, 1}), bias = p[i].view(1 + o * f, new int[] {o}, new long[] {1});
            Tensor dw = dp[i].view(1, new int[] {o, f}, new long[] {f, 1}), db = dp[i].view(1 + o * f, new int[] {o}, new long[] {1});
            b.linearForward(x[i], w, bias, y[i]);
            b.linearBackward(x[i], w, y[i], dx[i], dw, db);
        }
        same("linear forward", values(cpu, y[0]), values(gpu, y[1]));
        same("linear backward dw, db", values(cpu, dp[0]), values(gpu, dp[1]));
        same("linear backward dx", values(cpu, dx[0]), values(gpu, dx[1]));
        for (Tensor[] t : List.of(x, p, y, dp, dx)) {
            t[0].close();
            t[1].close();
        }
    }

    private static void memoryAndTimer(CudaBackend gpu) {
        long before = gpu.memoryStats().liveBytes();
        Tensor t = gpu.allocate(DType.F32, 1000);
        check("live bytes count requests", gpu.memoryStats().liveBytes() == before + 4000, gpu.memoryStats().toString());
        t.close();
        check("and drop on close", gpu.memoryStats().liveBytes() == before, gpu.memoryStats().toString());
        try (OpTimer timer = gpu.newTimer()) {
            timer.start();
            try {
                Thread.sleep(20); // the stand-in's events hold the host clock when recorded
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            timer.stop();
            long ns = timer.elapsedNanos();
            check("event timer", ns >= 19_000_000L && ns < 5_000_000_000L, ns + " ns for a 20 ms sleep");
        }
        try {
            gpu.allocate(DType.F64, 3);
            throw new AssertionError("F64 allocation should be refused");
        } catch (UnsupportedOperationException e) {
            check("F64 refused", e.getMessage().contains("float32"), e.getMessage());
        }
    }

    private static void kernelsSayWhatFailed(CudaBackend gpu) {
        Tensor x = gpu.allocate(DType.F32, 2, 3, 4, 4);
        try {
            gpu.relu(x, x);
            throw new AssertionError("the stand-in module has no kernels");
        } catch (CudaException e) {
            check("a kernel lookup failure names the kernel, the call and the driver's words",
                    e.getMessage().startsWith("kernel relu_f32: cuModuleGetFunction") && e.getMessage().contains("CUDA_ERROR_NOT_FOUND"),
                    e.getMessage());
        } finally {
            x.close();
        }
    }
}
