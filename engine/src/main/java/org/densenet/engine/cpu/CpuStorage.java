package org.densenet.engine.cpu;

import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Storage;

/** A Java array owned by a {@link CpuBackend}: float[] for F32, double[] for F64, int[] for I32. */
public final class CpuStorage implements Storage {
    private final CpuBackend backend;
    private final DType dtype;
    private final int elements;
    private float[] f32;
    private double[] f64;
    private int[] i32;
    private volatile boolean closed;

    CpuStorage(CpuBackend backend, DType dtype, int elements) {
        this.backend = backend;
        this.dtype = dtype;
        this.elements = elements;
        switch (dtype) {
            case F32 -> f32 = new float[elements];
            case F64 -> f64 = new double[elements];
            case I32 -> i32 = new int[elements];
        }
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long elements() {
        return elements;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        f32 = null;
        f64 = null;
        i32 = null;
        backend.allocator().release(bytes());
    }

    float[] f32() {
        checkOpen();
        return f32;
    }

    double[] f64() {
        checkOpen();
        return f64;
    }

    int[] i32() {
        checkOpen();
        return i32;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("use of a closed " + dtype + " storage of " + elements + " elements");
    }
}
