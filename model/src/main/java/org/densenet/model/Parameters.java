package org.densenet.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.densenet.engine.Backend;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.io.HostTensor;

/**
 * All trainable parameters of a model in one flat buffer, their gradients in a second buffer of
 * the same length (so one fused SGD step updates everything), and the batch-norm running
 * statistics in a third buffer that no optimiser sees. Each parameter is a contiguous view at
 * its offset. Names and order are torchvision's, so state dicts map one-to-one.
 *
 * <p>Modules register their tensors while the model is built ({@link #param}, {@link #batchNorm});
 * the buffers are sized up front from the configuration, and {@link #seal()} checks that the
 * registrations filled them exactly.
 */
public final class Parameters implements AutoCloseable {

    /** What a state-dict entry is and where it lives. */
    private enum Kind { PARAM, RUNNING_MEAN, RUNNING_VAR, BATCHES_TRACKED }

    private record Entry(String name, int[] shape, Kind kind, long offset, int norm, Init init) {
    }

    /** How a parameter starts, as torchvision's DenseNet initialises it. */
    enum Init {
        /** nn.init.kaiming_normal_ (fan_in, gain sqrt(2)): N(0, 2 / fan_in). */
        KAIMING_NORMAL,
        /** nn.Linear's default weight init, kaiming_uniform_(a = sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
        LINEAR_UNIFORM,
        ONES,
        ZEROS
    }

    /** A parameter's value and gradient views. */
    record Weight(Param param, Tensor value, Tensor grad) {
    }

    /** A BatchNorm2d's learnable scale and shift (with gradients) and its running statistics. */
    record NormState(Weight gamma, Weight beta, Tensor runningMean, Tensor runningVar, int index) {
    }

    private final Backend backend;
    private final DType dtype;
    private final Tensor values;   // [P]
    private final Tensor grads;    // [P]
    private final Tensor running;  // [R]: each BN's running_mean then running_var
    private final List<Param> params = new ArrayList<>();
    private final List<Entry> entries = new ArrayList<>();
    private long[] batchesTracked = new long[0];
    private long nextParam;
    private long nextRunning;
    private boolean sealed;

    Parameters(Backend backend, DType dtype, long parameterCount, long runningCount) {
        if (!dtype.isFloating()) throw new IllegalArgumentException("parameters must be F32 or F64, got " + dtype);
        if (parameterCount > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(parameterCount + " parameters do not fit one buffer (at most " + Integer.MAX_VALUE + ")");
        }
        this.backend = backend;
        this.dtype = dtype;
        this.values = backend.allocate(dtype, (int) parameterCount);
        this.grads = backend.allocate(dtype, (int) parameterCount);
        this.running = backend.allocate(dtype, (int) runningCount);
    }

    Weight param(String name, Init init, int... shape) {
        checkOpen();
        Param p = new Param(name, shape, nextParam);
        if (nextParam + p.numel() > values.numel()) {
            throw new IllegalStateException("parameter " + name + " overruns the buffer of " + values.numel() + " elements");
        }
        nextParam += p.numel();
        params.add(p);
        entries.add(new Entry(name, shape, Kind.PARAM, p.offset(), -1, init));
        long[] strides = Tensor.contiguousStrides(shape);
        return new Weight(p, values.view(p.offset(), shape, strides), grads.view(p.offset(), shape, strides));
    }

    NormState batchNorm(String prefix, int channels) {
        Weight gamma = param(prefix + ".weight", Init.ONES, channels);
        Weight beta = param(prefix + ".bias", Init.ZEROS, channels);
        int index = batchesTracked.length;
        batchesTracked = Arrays.copyOf(batchesTracked, index + 1);
        long[] unit = {1};
        Tensor mean = running.view(nextRunning, new int[]{channels}, unit);
        entries.add(new Entry(prefix + ".running_mean", new int[]{channels}, Kind.RUNNING_MEAN, nextRunning, index, Init.ZEROS));
        nextRunning += channels;
        Tensor var = running.view(nextRunning, new int[]{channels}, unit);
        entries.add(new Entry(prefix + ".running_var", new int[]{channels}, Kind.RUNNING_VAR, nextRunning, index, Init.ONES));
        nextRunning += channels;
        entries.add(new Entry(prefix + ".num_batches_tracked", new int[0], Kind.BATCHES_TRACKED, 0, index, Init.ZEROS));
        return new NormState(gamma, beta, mean, var, index);
    }

    /**
     * Ends registration (the buffers must be exactly full) and initialises everything as torchvision
     * does, drawing in parameter order from one generator seeded with {@code seed}; running_mean 0,
     * running_var 1.
     */
    void seal(long seed) {
        if (nextParam != values.numel() || nextRunning != running.numel()) {
            throw new IllegalStateException("registered " + nextParam + " parameter and " + nextRunning
                    + " running-statistic elements; the buffers hold " + values.numel() + " and " + running.numel());
        }
        sealed = true;
        SplittableRandom rng = new SplittableRandom(seed);
        double[] v = new double[(int) values.numel()];
        double[] r = new double[(int) running.numel()];
        for (Entry e : entries) {
            if (e.kind == Kind.BATCHES_TRACKED) continue;
            int from = (int) e.offset;
            int n = (int) Tensor.numel(e.shape);
            double[] dst = e.kind == Kind.PARAM ? v : r;
            double fanIn = e.shape.length > 1 ? (double) n / e.shape[0] : 1;
            switch (e.init) {
                case KAIMING_NORMAL -> {
                    double std = Math.sqrt(2.0 / fanIn);
                    for (int i = 0; i < n; i++) dst[from + i] = std * rng.nextGaussian();
                }
                case LINEAR_UNIFORM -> {
                    double bound = 1.0 / Math.sqrt(fanIn);
                    for (int i = 0; i < n; i++) dst[from + i] = rng.nextDouble(-bound, bound);
                }
                case ONES -> Arrays.fill(dst, from, from + n, 1.0);
                case ZEROS -> { }
            }
        }
        upload(v, values);
        uploadRunning(r);
    }

    /** One more training-mode forward through BN number {@code index}. */
    void countBatch(int index) {
        batchesTracked[index]++;
    }

    public Tensor values() {
        return values;
    }

    public Tensor grads() {
        return grads;
    }

    /** The batch-norm running statistics, a flat buffer that is not trained. */
    public Tensor runningStats() {
        return running;
    }

    public List<Param> list() {
        return Collections.unmodifiableList(params);
    }

    public long count() {
        return values.numel();
    }

    public DType dtype() {
        return dtype;
    }

    /** Parameters and buffers under torchvision's names, in its order, copied to the host in the model's dtype. */
    public Map<String, HostTensor> stateDict() {
        double[] v = download(values);
        double[] r = download(running);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Entry e : entries) {
            out.put(e.name, switch (e.kind) {
                case PARAM -> host(v, e);
                case RUNNING_MEAN, RUNNING_VAR -> host(r, e);
                case BATCHES_TRACKED -> HostTensor.ofI64(new long[]{batchesTracked[e.norm]});
            });
        }
        return out;
    }

    /** The gradient of every parameter under its name, copied to the host (as PyTorch's {@code p.grad}). */
    public Map<String, HostTensor> gradientDict() {
        double[] g = download(grads);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (e.kind == Kind.PARAM) out.put(e.name, host(g, e));
        }
        return out;
    }

    /**
     * Replaces every parameter and buffer. Strict about names and shapes, as PyTorch's default, and
     * lenient where PyTorch's {@code load_state_dict} is: any numeric dtype is converted (half-precision
     * weights, counters saved as floats, which convert by truncation as {@code copy_} does), and a missing
     * {@code num_batches_tracked} becomes 0, as BatchNorm does for state dicts from before PyTorch 0.4.1
     * (torchvision's published ImageNet weights have none).
     */
    public void loadStateDict(Map<String, HostTensor> state) {
        checkSealed();
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        Set<String> known = new HashSet<>();
        for (Entry e : entries) {
            known.add(e.name);
            HostTensor t = state.get(e.name);
            if (t == null) {
                if (e.kind != Kind.BATCHES_TRACKED) missing.add(e.name);
            } else if (!Arrays.equals(t.shape(), e.shape) && !(e.kind == Kind.BATCHES_TRACKED && t.numel() == 1)) {
                mismatched.add(e.name + " (this model " + Arrays.toString(e.shape) + ", given " + Arrays.toString(t.shape()) + ")");
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String k : state.keySet()) if (!known.contains(k)) unexpected.add(k);
        if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatched.isEmpty()) {
            StringBuilder m = new StringBuilder("the state dict does not fit this model:");
            describe(m, "missing keys", missing);
            describe(m, "unexpected keys", unexpected);
            describe(m, "mismatched", mismatched);
            throw new IllegalArgumentException(m.toString());
        }
        double[] v = new double[(int) values.numel()];
        double[] r = new double[(int) running.numel()];
        long[] tracked = new long[batchesTracked.length];
        for (Entry e : entries) {
            HostTensor t = state.get(e.name);
            switch (e.kind) {
                case PARAM -> System.arraycopy(t.toDoubleArray(), 0, v, (int) e.offset, (int) t.numel());
                case RUNNING_MEAN, RUNNING_VAR -> System.arraycopy(t.toDoubleArray(), 0, r, (int) e.offset, (int) t.numel());
                case BATCHES_TRACKED -> tracked[e.norm] = t == null ? 0 : counter(t);
            }
        }
        upload(v, values);
        uploadRunning(r);
        batchesTracked = tracked;
    }

    /** Fills the parameters from a host array in the flat layout (initialisation). */
    void upload(double[] flat, Tensor dst) {
        if (dtype == DType.F64) {
            backend.upload(flat, dst);
        } else {
            float[] f = new float[flat.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) flat[i];
            backend.upload(f, dst);
        }
    }

    @Override
    public void close() {
        values.close();
        grads.close();
        running.close();
    }

    private void uploadRunning(double[] host) {
        upload(host, running);
    }

    private double[] download(Tensor t) {
        double[] out = new double[(int) t.numel()];
        if (dtype == DType.F64) {
            backend.download(t, out);
        } else {
            float[] f = new float[out.length];
            backend.download(t, f);
            for (int i = 0; i < f.length; i++) out[i] = f[i];
        }
        return out;
    }

    private HostTensor host(double[] flat, Entry e) {
        int from = (int) e.offset;
        int n = (int) Tensor.numel(e.shape);
        if (dtype == DType.F64) return HostTensor.ofF64(Arrays.copyOfRange(flat, from, from + n), e.shape);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) flat[from + i];
        return HostTensor.ofF32(f, e.shape);
    }

    /** A counter's value; a floating one truncates toward zero, as PyTorch's {@code copy_} into an int64 does. */
    private static long counter(HostTensor t) {
        return t.dtype().isFloating() ? (long) t.toDoubleArray()[0] : t.toLongArray()[0];
    }

    private static void describe(StringBuilder m, String what, List<String> names) {
        if (names.isEmpty()) return;
        m.append("\n  ").append(what).append(" (").append(names.size()).append("): ");
        int shown = Math.min(names.size(), 12);
        m.append(String.join(", ", names.subList(0, shown)));
        if (shown < names.size()) m.append(", ... and ").append(names.size() - shown).append(" more");
    }

    private void checkOpen() {
        if (sealed) throw new IllegalStateException("parameters are sealed; register every tensor while building the model");
    }

    private void checkSealed() {
        if (!sealed) throw new IllegalStateException("the model is still being built");
    }
}
