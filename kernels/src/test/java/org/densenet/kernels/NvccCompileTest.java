package org.densenet.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where nvcc is installed: the sources compile, without warnings, for every architecture the
 * manifest lists (all.cu includes every family, so one compile per architecture covers them all),
 * and each family file also compiles on its own (it includes what it needs). Skipped without nvcc;
 * the cuobjdump listing is skipped without cuobjdump.
 */
class NvccCompileTest {
    @TempDir
    static Path tmp;

    private static void needsNvcc() {
        Assumptions.assumeTrue(onPath("nvcc"), "nvcc is not on the PATH; the committed fatbin is used as it is");
    }

    @Test
    void allCuCompilesToCubinForEverySassArchAndToPtxForEveryPtxArch() throws Exception {
        needsNvcc();
        KernelManifest m = KernelImage.manifest();
        List<List<String>> commands = new ArrayList<>();
        for (int a : m.sassArchs()) {
            commands.add(List.of("nvcc", "-O3", "-Werror", "all-warnings", "-cubin", "-arch=sm_" + a,
                    "-o", tmp.resolve("all_sm" + a + ".cubin").toString(), "all.cu"));
        }
        for (int a : m.ptxArchs()) {
            commands.add(List.of("nvcc", "-Werror", "all-warnings", "-ptx", "-arch=compute_" + a,
                    "-o", tmp.resolve("all_compute" + a + ".ptx").toString(), "all.cu"));
        }
        runAll(commands);
        for (int a : m.ptxArchs()) {
            String ptx = Files.readString(tmp.resolve("all_compute" + a + ".ptx"));
            for (String k : m.kernels()) assertTrue(ptx.contains(".visible .entry " + k + "("), k + " not exported for compute_" + a);
        }
    }

    @Test
    void everyFamilyFileCompilesOnItsOwn() throws Exception {
        needsNvcc();
        int arch = KernelImage.manifest().sassArchs().getFirst();
        List<List<String>> commands = new ArrayList<>();
        for (Path f : KernelImageTest.sourceFiles()) {
            String name = f.getFileName().toString();
            if (!name.endsWith(".cu") || name.equals("all.cu")) continue;
            commands.add(List.of("nvcc", "-Werror", "all-warnings", "-ptx", "-arch=compute_" + arch,
                    "-o", tmp.resolve(name + ".ptx").toString(), name));
        }
        runAll(commands);
    }

    @Test
    void cuobjdumpListsEveryArchitectureAndKernelOfTheCommittedFatbin() throws Exception {
        Assumptions.assumeTrue(onPath("cuobjdump"), "cuobjdump is not on the PATH (KernelImageTest reads the fatbin without it)");
        Path fatbin = tmp.resolve("densenet.fatbin");
        Files.write(fatbin, KernelImage.fatbin());
        KernelManifest m = KernelImage.manifest();
        String elf = output(List.of("cuobjdump", "--list-elf", fatbin.toString()));
        for (int a : m.sassArchs()) assertTrue(elf.contains("sm_" + a), "no SASS for sm_" + a + " in:\n" + elf);
        String ptx = output(List.of("cuobjdump", "--list-ptx", fatbin.toString()));
        for (int a : m.ptxArchs()) assertTrue(ptx.contains("sm_" + a) || ptx.contains("compute_" + a), "no PTX for " + a + " in:\n" + ptx);
        String symbols = output(List.of("cuobjdump", "--dump-elf-symbols", fatbin.toString()));
        for (String k : m.kernels()) assertTrue(symbols.contains(k), k + " not among the fatbin's ELF symbols");
    }

    private static String output(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + ":\n" + out);
        return out;
    }

    /** Runs the compiles two at a time (the build machines have few cores) and fails with nvcc's own output. */
    private static void runAll(List<List<String>> commands) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (List<String> c : commands) results.add(pool.submit(() -> run(c)));
            for (Future<String> r : results) assertEquals("", r.get(5, TimeUnit.MINUTES));
        } finally {
            pool.shutdownNow();
        }
    }

    /** Empty when the command succeeded, else the command and its output. */
    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(KernelImageTest.SOURCES.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        return rc == 0 ? "" : String.join(" ", command) + " exited " + rc + ":\n" + out;
    }

    static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }
}
