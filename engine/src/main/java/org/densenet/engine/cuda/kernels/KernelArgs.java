package org.densenet.engine.cuda.kernels;

import java.util.ArrayList;
import java.util.List;
import jcuda.Pointer;

/**
 * The parameter list of one launch, in the kernel's declaration order. Values are kept as plain
 * numbers with their C type, so tests can compare a launcher's list with the kernel's PTX
 * signature without loading the CUDA library; {@link #pointer()} builds JCuda's kernelParams.
 */
public final class KernelArgs {

    /** C parameter types as PTX for sm_120 declares them: pointers are ".u64 .ptr", long long ".u64", and so on. */
    public enum Type {
        PTR("u64.ptr"), I64("u64"), I32("u32"), F32("f32"), F64("f64"), F32X8("align 4 .b8[32]");

        public final String ptx;

        Type(String ptx) {
            this.ptx = ptx;
        }
    }

    private final List<Type> types = new ArrayList<>();
    private final List<Object> values = new ArrayList<>();

    /** A device address (CUdeviceptr value); 0 is a null pointer, which only some kernels accept. */
    public KernelArgs ptr(long address) {
        return add(Type.PTR, new long[] {address});
    }

    public KernelArgs i64(long v) {
        return add(Type.I64, new long[] {v});
    }

    public KernelArgs i32(int v) {
        return add(Type.I32, new int[] {v});
    }

    public KernelArgs bool(boolean v) {
        return i32(v ? 1 : 0);
    }

    public KernelArgs f32(float v) {
        return add(Type.F32, new float[] {v});
    }

    public KernelArgs f64(double v) {
        return add(Type.F64, new double[] {v});
    }

    /** A struct of eight floats passed by value. */
    public KernelArgs f32x8(float[] v) {
        if (v.length != 8) throw new IllegalArgumentException("a by-value struct of 8 floats needs 8 values, got " + v.length);
        return add(Type.F32X8, v.clone());
    }

    public List<Type> types() {
        return List.copyOf(types);
    }

    /** The value of parameter i: a long, int, float or double (or a float[] for a struct). */
    public Object value(int i) {
        Object v = values.get(i);
        return switch (types.get(i)) {
            case PTR, I64 -> ((long[]) v)[0];
            case I32 -> ((int[]) v)[0];
            case F32 -> ((float[]) v)[0];
            case F64 -> ((double[]) v)[0];
            case F32X8 -> ((float[]) v).clone();
        };
    }

    public Pointer pointer() {
        Pointer[] p = new Pointer[values.size()];
        for (int i = 0; i < p.length; i++) {
            p[i] = switch (values.get(i)) {
                case long[] a -> Pointer.to(a);
                case int[] a -> Pointer.to(a);
                case float[] a -> Pointer.to(a);
                case double[] a -> Pointer.to(a);
                default -> throw new IllegalStateException("unexpected kernel argument " + values.get(i));
            };
        }
        return Pointer.to(p);
    }

    private KernelArgs add(Type t, Object holder) {
        types.add(t);
        values.add(holder);
        return this;
    }
}
