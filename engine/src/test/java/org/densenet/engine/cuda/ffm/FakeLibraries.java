package org.densenet.engine.cuda.ffm;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * Stand-ins for libcuda, cuDNN and cuBLAS over host memory (test resources fake/*.c), compiled
 * with the machine's C compiler into a temporary folder, so the FFM bindings and the wrappers
 * above them run on machines without a GPU. Tests that need them are skipped, saying why,
 * where no C compiler is installed.
 */
public final class FakeLibraries {
    private static final Map<String, Path> BUILT = new HashMap<>();
    private static Path folder;

    private FakeLibraries() {
    }

    /** The stand-in library {@code fake_<name>} compiled to {@code <file>} in the shared temporary folder. */
    public static synchronized Path build(String name, String file, String... linkerArgs) {
        Path out = BUILT.get(file);
        if (out != null) return out;
        try {
            if (folder == null) {
                folder = Files.createTempDirectory("densenet-fake-cuda");
                folder.toFile().deleteOnExit();
            }
            Path source = folder.resolve("fake_" + name + ".c");
            try (InputStream in = FakeLibraries.class.getResourceAsStream("/org/densenet/engine/cuda/fake/fake_" + name + ".c")) {
                if (in == null) throw new IllegalStateException("test resource fake_" + name + ".c is missing");
                Files.copy(in, source, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            out = folder.resolve(file);
            Process gcc;
            try {
                java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("cc", "-shared", "-fPIC", "-O1", "-o", out.toString()));
                cmd.addAll(java.util.List.of(linkerArgs));
                cmd.add(source.toString());
                gcc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            } catch (IOException e) {
                Assumptions.abort("needs a C compiler (cc) to build the stand-in CUDA libraries: " + e.getMessage());
                return null;
            }
            String log = new String(gcc.getInputStream().readAllBytes());
            if (!gcc.waitFor(60, TimeUnit.SECONDS) || gcc.exitValue() != 0) {
                throw new IllegalStateException("compiling fake_" + name + ".c failed:\n" + log);
            }
            out.toFile().deleteOnExit();
            BUILT.put(file, out);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static NativeLibrary open(String name, String file) {
        try {
            return NativeLibrary.open(build(name, file).toString());
        } catch (NativeLibrary.LoadFailure e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
