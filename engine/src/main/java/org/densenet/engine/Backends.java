package org.densenet.engine;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.engine.cuda.CudaException;
import org.densenet.engine.cuda.CudaUnavailableException;
import org.densenet.engine.cuda.ffm.CudaLibraries;
import org.densenet.engine.cuda.ffm.DriverProbe;
import org.densenet.engine.cuda.ffm.LibraryLoader.NotLoadable;

/**
 * Picks the backend for {@code --device auto|cpu|cuda|cuda:N}. "auto" takes GPU 0 when the
 * driver, a device, cuDNN 9 and cuBLAS are all usable and otherwise the CPU, saying in one line
 * why; "cuda" and "cuda:N" insist, throwing {@link CudaUnavailableException} with that line.
 */
public final class Backends {
    private Backends() {
    }

    /** A parsed {@code --device} value. index is the GPU ordinal for CUDA and 0 otherwise. */
    public record Spec(Kind kind, int index) {
        public enum Kind { AUTO, CPU, CUDA }

        public Spec {
            Objects.requireNonNull(kind, "kind");
            if (index < 0) throw new IllegalArgumentException("GPU index must be >= 0, got " + index);
            if (kind != Kind.CUDA && index != 0) throw new IllegalArgumentException(kind + " takes no index");
        }

        public static Spec parse(String spec) {
            String s = spec == null ? "" : spec.strip().toLowerCase(java.util.Locale.ROOT);
            switch (s) {
                case "auto": return new Spec(Kind.AUTO, 0);
                case "cpu": return new Spec(Kind.CPU, 0);
                case "cuda", "gpu": return new Spec(Kind.CUDA, 0);
                default: break;
            }
            if (s.startsWith("cuda:")) {
                String n = s.substring(5);
                if (!n.isEmpty() && n.chars().allMatch(c -> c >= '0' && c <= '9') && n.length() <= 4) {
                    return new Spec(Kind.CUDA, Integer.parseInt(n));
                }
                throw new IllegalArgumentException("device '" + spec + "': the GPU index after 'cuda:' must be a number >= 0, e.g. cuda:0");
            }
            throw new IllegalArgumentException("device '" + spec + "' is not one of auto, cpu, cuda, cuda:N");
        }

        @Override
        public String toString() {
            return kind == Kind.CUDA ? "cuda:" + index : kind.name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * The backend for a {@code --device} value; "auto" writes one line to {@code notes} when it falls back to the CPU.
     * TF32 as the system property {@value CudaBackend#TF32_PROPERTY} says (off unless set).
     */
    public static Backend create(String spec, PrintStream notes) {
        return create(spec, Boolean.getBoolean(CudaBackend.TF32_PROPERTY), notes);
    }

    /**
     * As {@link #create(String, PrintStream)}, with TF32 allowed or not in a GPU's convolutions and
     * matrix products; the CPU always computes in float32.
     */
    public static Backend create(String spec, boolean allowTf32, PrintStream notes) {
        return create(spec, allowTf32 ? Precision.TF32 : Precision.FP32, notes);
    }

    /** As {@link #create(String, Precision, boolean, PrintStream)} with CUDA graphs as {@link CudaBackend#graphsByDefault()} says. */
    public static Backend create(String spec, Precision precision, PrintStream notes) {
        return create(spec, precision, CudaBackend.graphsByDefault(), notes);
    }

    /**
     * The backend for a {@code --device} value computing in {@code precision}, with a GPU's CUDA graphs on or off
     * (the CPU has none). BF16 and FP16 store a GPU's activations in 16 bits ({@link CudaBackend}); on the CPU
     * they run as its twin of that path ({@link CpuBackend#CpuBackend(int, Precision)}).
     */
    public static Backend create(String spec, Precision precision, boolean cudaGraphs, PrintStream notes) {
        Objects.requireNonNull(notes, "notes");
        Objects.requireNonNull(precision, "precision");
        Spec s = Spec.parse(spec);
        boolean tf32 = precision == Precision.TF32;
        Backend b = switch (s.kind()) {
            case CPU -> new CpuBackend(Runtime.getRuntime().availableProcessors(), precision);
            case CUDA -> openCuda(s.index(), precision, cudaGraphs);
            case AUTO -> {
                try {
                    yield openCuda(0, precision, cudaGraphs);
                } catch (CudaUnavailableException | CudaException e) {
                    notes.println("using the CPU: " + e.getMessage());
                    yield new CpuBackend(Runtime.getRuntime().availableProcessors(), precision);
                }
            }
        };
        if (tf32 && b instanceof CpuBackend) notes.println("TF32 has no effect on the CPU, which computes in float32");
        return b;
    }

    /**
     * One line per device the engine could use, and for CUDA the reason when it cannot, e.g.
     * "cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB), driver 13.0, cuDNN 9.14.0, cuBLAS 13.1.0".
     */
    public static List<String> describeDevices() {
        List<String> out = new ArrayList<>();
        int threads = Runtime.getRuntime().availableProcessors();
        out.add("cpu (" + threads + (threads == 1 ? " thread)" : " threads)"));
        CudaLibraries.Driver driver;
        try {
            driver = CudaLibraries.driver();
        } catch (NotLoadable e) {
            out.add("cuda: not usable: " + e.getMessage());
            return out;
        }
        String toolkit;
        String problem = null;
        try {
            toolkit = CudaLibraries.toolkit().describe();
        } catch (NotLoadable e) {
            toolkit = null;
            problem = e.getMessage();
        }
        for (DriverProbe.DeviceInfo d : driver.devices()) {
            String line = d.describe() + ", driver " + driver.describeVersion();
            out.add(problem == null ? line + ", " + toolkit : line + ": not usable: " + problem);
        }
        return out;
    }

    /** Checks that GPU {@code index} and the libraries are usable, then opens the backend on it. */
    private static Backend openCuda(int index, Precision precision, boolean graphs) {
        CudaLibraries.Driver driver;
        CudaLibraries.Toolkit toolkit;
        try {
            driver = CudaLibraries.driver();
            toolkit = CudaLibraries.toolkit();
        } catch (NotLoadable e) {
            throw new CudaUnavailableException(e.getMessage());
        }
        if (index >= driver.devices().size()) {
            int n = driver.devices().size();
            throw new CudaUnavailableException("cuda:" + index + " asked for, but the driver reports " + n + (n == 1 ? " GPU" : " GPUs")
                    + " (cuda:0" + (n > 1 ? " to cuda:" + (n - 1) : "") + ")");
        }
        return CudaBackend.open(driver, toolkit, index, precision, graphs);
    }
}
