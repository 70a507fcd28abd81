package org.densenet.engine.cuda.ffm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * Stand-ins for libcuda, cuDNN and cuBLAS over host memory (test resources fake/*.c), compiled
 * with the machine's C compiler into a temporary folder, so the FFM bindings and the wrappers
 * above them run on machines without a GPU. Tests that need them are skipped, saying why,
 * where no C compiler is installed.
 */
public final class FakeLibraries {
    private static final Set<Path> BUILT = new HashSet<>();
    private static Path folder;

    private FakeLibraries() {
    }

    /** The stand-in library {@code fake_<name>} compiled to {@code <file>} in the shared temporary folder. */
    public static Path build(String name, String file, String... compilerArgs) {
        return build(folder(), name, file, compilerArgs);
    }

    /** The stand-in library {@code fake_<name>} compiled to {@code dir/<file>} with extra compiler arguments. */
    public static synchronized Path build(Path dir, String name, String file, String... compilerArgs) {
        Path out = dir.resolve(file);
        if (BUILT.contains(out)) return out;
        Path source = copyResource("fake_" + name + ".c", dir);
        copyResource("dn_half.h", dir);   // the 16-bit conversions, which the stand-in cuDNN shares with the emulator
        List<String> cmd = new ArrayList<>(List.of("cc", "-shared", "-fPIC", "-O1", "-o", out.toString()));
        cmd.addAll(List.of(compilerArgs));
        cmd.add(source.toString());
        compile(cmd, "a C compiler (cc) to build the stand-in CUDA libraries");
        BUILT.add(out);
        return out;
    }

    /**
     * The stand-in libcuda.so.1 whose modules hold the project's real kernels, compiled from
     * kernels/src/main/cuda as host C++ and run on the CPU by cuda_emulator.cpp (needs g++). Built
     * in its own folder: it must never be mistaken for the kernel-less stand-in of the same name.
     */
    public static Path emulatedDriver() {
        return emulatedDriver("emulated");
    }

    /**
     * As {@link #emulatedDriver()}, built in folder {@code variant} with extra compiler arguments
     * (e.g. -DDN_NULL_DEVICE: every launch, copy and fill checked, then dropped).
     */
    public static synchronized Path emulatedDriver(String variant, String... compilerArgs) {
        Path dir = folder().resolve(variant), out = dir.resolve("libcuda.so.1");
        if (BUILT.contains(out)) return out;
        Path kernels = kernelSources();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Path driver = copyResource("fake_cuda.c", dir);
        copyResource("cuda_emulator.h", dir);
        copyResource("dn_half.h", dir);
        Path emulator = copyResource("cuda_emulator.cpp", dir);
        List<String> cmd = new ArrayList<>(List.of("g++", "-shared", "-fPIC", "-O1", "-ffp-contract=off", "-Wall", "-Wl,-soname,libcuda.so.1",
                "-Wl,--no-undefined", "-pthread", "-DDN_EMULATED_KERNELS", "-I" + kernels, "-o", out.toString()));
        cmd.addAll(List.of(compilerArgs));
        cmd.addAll(List.of("-x", "c", driver.toString(), "-x", "c++", emulator.toString()));
        compile(cmd, "a C++ compiler (g++) to build the CUDA kernel emulator");
        BUILT.add(out);
        return out;
    }

    private static Path folder() {
        if (folder == null) {
            try {
                folder = Files.createTempDirectory("densenet-fake-cuda");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            folder.toFile().deleteOnExit();
        }
        return folder;
    }

    private static Path copyResource(String name, Path dir) {
        Path target = dir.resolve(name);
        try (InputStream in = FakeLibraries.class.getResourceAsStream("/org/densenet/engine/cuda/fake/" + name)) {
            if (in == null) throw new IllegalStateException("test resource " + name + " is missing");
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        target.toFile().deleteOnExit();
        return target;
    }

    /** Runs a compiler command; skips the calling test, saying so, when the compiler ({@code needs}) is not installed. */
    private static void compile(List<String> cmd, String needs) {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("needs " + needs + ": " + e.getMessage());
            return;
        }
        try {
            String log = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("compiling failed:\n" + String.join(" ", cmd) + "\n" + log);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        Path.of(cmd.get(cmd.indexOf("-o") + 1)).toFile().deleteOnExit();
    }

    /** kernels/src/main/cuda: the system property densenet.kernel.sources, else found above the working directory. */
    static Path kernelSources() {
        String property = System.getProperty("densenet.kernel.sources");
        if (property != null) {
            Path p = Path.of(property);
            if (!Files.isRegularFile(p.resolve("all.cu"))) throw new IllegalStateException("densenet.kernel.sources=" + p + " holds no all.cu");
            return p.toAbsolutePath();
        }
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path p = d.resolve("kernels/src/main/cuda");
            if (Files.isRegularFile(p.resolve("all.cu"))) return p;
        }
        Assumptions.abort("the CUDA kernel emulator needs the kernel sources (kernels/src/main/cuda): not found above "
                + Path.of("").toAbsolutePath() + "; set -Ddensenet.kernel.sources");
        return null;
    }

    public static NativeLibrary open(String name, String file) {
        try {
            return NativeLibrary.open(build(name, file).toString());
        } catch (NativeLibrary.LoadFailure e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
