package org.densenet.engine.cuda.ffm;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.densenet.engine.cuda.ffm.LibraryLoader.Candidate;
import org.densenet.engine.cuda.ffm.LibraryLoader.Loaded;
import org.densenet.engine.cuda.ffm.LibraryLoader.NotLoadable;

/**
 * Finds, loads and checks the native libraries once per process: the driver first (libcuda.so.1,
 * then cuInit and the device list, all through FFM), then cuDNN 9 and the cuBLAS that matches
 * the CUDA major version cuDNN was built for. A failure is remembered and reported again in the
 * same words, so "auto" and "devices" say the same thing.
 */
public final class CudaLibraries {
    /** cuDNN 9's sub-libraries that its shim loads by soname; loaded first when cuDNN sits in a folder off the loader path. */
    static final String[] CUDNN_PARTS = {"libcudnn_graph.so.9", "libcudnn_ops.so.9", "libcudnn_cnn.so.9",
            "libcudnn_heuristic.so.9", "libcudnn_engines_precompiled.so.9"};

    /** The driver and its GPUs. */
    public record Driver(String where, DriverProbe api, int version, List<DriverProbe.DeviceInfo> devices) {
        public String describeVersion() {
            return (version / 1000) + "." + (version % 1000 / 10);
        }
    }

    /** cuDNN and cuBLAS, loaded and bound. */
    public record Toolkit(Cudnn cudnn, String cudnnWhere, long cudnnVersion, Cublas cublas, String cublasWhere,
                          String cublasVersion, String nvrtcNote) {
        /** "cuDNN 9.14.0, cuBLAS 13.1.0". */
        public String describe() {
            return "cuDNN " + cudnnVersion / 10000 + "." + cudnnVersion % 10000 / 100 + "." + cudnnVersion % 100
                    + ", cuBLAS " + cublasVersion + (nvrtcNote.isEmpty() ? "" : "; " + nvrtcNote);
        }
    }

    private static Driver driver;
    private static String driverFailure;
    private static Toolkit toolkit;
    private static String toolkitFailure;

    private CudaLibraries() {
    }

    public static synchronized Driver driver() throws NotLoadable {
        if (driver != null) return driver;
        if (driverFailure != null) throw new NotLoadable(driverFailure);
        try {
            Loaded lib = LibraryLoader.loadFirst("NVIDIA driver", LibrarySearch.forDriver(), List.of(Candidate.of("libcuda.so.1")));
            DriverProbe api = new DriverProbe(lib.library());
            api.init();
            List<DriverProbe.DeviceInfo> devices = api.devices();
            if (devices.isEmpty()) throw new NotLoadable("the NVIDIA driver (" + lib.where() + ") reports no GPU");
            driver = new Driver(lib.where(), api, api.driverVersion(), devices);
            return driver;
        } catch (NotLoadable e) {
            driverFailure = e.getMessage();
            throw e;
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            driverFailure = "the NVIDIA driver could not be queried: " + e.getMessage();
            throw new NotLoadable(driverFailure);
        }
    }

    public static synchronized Toolkit toolkit() throws NotLoadable {
        if (toolkit != null) return toolkit;
        if (toolkitFailure != null) throw new NotLoadable(toolkitFailure);
        try {
            toolkit = loadToolkit(LibrarySearch.forToolkit());
            return toolkit;
        } catch (NotLoadable e) {
            toolkitFailure = e.getMessage();
            throw e;
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            toolkitFailure = "cuDNN or cuBLAS could not be bound: " + e.getMessage();
            throw new NotLoadable(toolkitFailure);
        }
    }

    static Toolkit loadToolkit(LibrarySearch search) throws NotLoadable {
        Loaded dnnLib = LibraryLoader.loadFirst("cuDNN 9", search, List.of(Candidate.of("libcudnn.so.9", CUDNN_PARTS)));
        Cudnn cudnn = new Cudnn(dnnLib.library());
        long version = cudnn.version();
        if (version < 90000) throw new NotLoadable("cuDNN at " + dnnLib.where() + " is version " + version + "; cuDNN 9 is needed");
        int cudaMajor = (int) (cudnn.cudartVersion() / 1000);

        Set<Integer> majors = new LinkedHashSet<>(List.of(cudaMajor, 13, 12));
        List<Candidate> blas = new ArrayList<>();
        for (int m : majors) blas.add(Candidate.of("libcublas.so." + m, "libcublasLt.so." + m));
        Loaded blasLib = LibraryLoader.loadFirst("cuBLAS", search, blas);
        String blasFile = blasLib.from().candidate().file();
        if (!blasFile.equals("libcublas.so." + cudaMajor)) {
            // cuDNN's convolutions open libcublasLt.so.<its CUDA major> at run time; another major would fail there.
            throw new NotLoadable("cuDNN at " + dnnLib.where() + " was built for CUDA " + cudaMajor + " and needs libcublas.so."
                    + cudaMajor + ", but only " + blasLib.where() + " was found (looked in " + search.describe() + ")");
        }
        Cublas cublas = new Cublas(blasLib.library());

        String nvrtcNote = "";
        try {
            LibraryLoader.loadFirst("NVRTC", search, List.of(Candidate.of("libnvrtc.so." + cudaMajor)));
        } catch (NotLoadable e) {
            nvrtcNote = "no libnvrtc.so." + cudaMajor + ", so cuDNN's runtime-compiled engines are off";
        }
        return new Toolkit(cudnn, dnnLib.where(), version, cublas, blasLib.where(), cublas.version(), nvrtcNote);
    }
}
