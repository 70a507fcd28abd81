package org.densenet.engine.cuda.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.densenet.engine.cuda.ffm.LibraryLoader.Attempt;
import org.densenet.engine.cuda.ffm.LibraryLoader.Candidate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Search order and messages over a fake file system: folders with dummy library files in a temp dir. */
class LibrarySearchTest {
    @TempDir
    Path tmp;

    private Path touch(String relative) throws IOException {
        Path p = tmp.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "not a library");
        return p;
    }

    private Path dir(String relative) throws IOException {
        return Files.createDirectories(tmp.resolve(relative));
    }

    @Test
    void toolkitPlacesComeInTheDocumentedOrder() throws IOException {
        Path root = dir("root");
        Path home = dir("home");
        Path custom = dir("custom");
        Path cudaHome = dir("cuda");
        dir("cuda/lib64");
        dir("cudnn/lib");
        Path ld = dir("ld");
        touch("venv/bin/python3");
        dir("venv/lib/python3.11/site-packages/nvidia/cudnn/lib");
        dir("home/.local/lib/python3.12/site-packages/nvidia/cu13/lib");
        dir("root/usr/local/lib/python3.12/dist-packages/nvidia/cudnn/lib");
        dir("root/usr/local/lib/python3.9/dist-packages/nvidia/cublas/lib");
        dir("root/usr/lib/python3/dist-packages/nvidia/cu13/lib");
        dir("root/usr/lib/x86_64-linux-gnu");
        dir("root/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib");

        Map<String, String> env = new HashMap<>();
        env.put("DENSENET_CUDA_LIBS", custom.toString());
        env.put("CUDA_HOME", cudaHome.toString());
        env.put("CUDNN_PATH", tmp.resolve("cudnn").toString());
        env.put("LD_LIBRARY_PATH", ld + ":" + custom); // custom again: listed once, where it came first
        env.put("PATH", tmp.resolve("venv/bin") + ":/nonexistent/bin");

        List<SearchPlace> places = LibrarySearch.forToolkit(env, home, root).places();
        List<String> shown = places.stream().map(p -> p.isLoader() ? "LOADER" : tmp.relativize(p.dir()) + " <" + p.origin() + ">").toList();
        assertEquals(List.of(
                "custom <DENSENET_CUDA_LIBS>",
                "LOADER",
                "cuda/lib64 <CUDA_HOME>",
                "cudnn/lib <CUDNN_PATH>",
                "ld <LD_LIBRARY_PATH>",
                "root/usr/lib/x86_64-linux-gnu <system folder>",
                "venv/lib/python3.11/site-packages/nvidia/cudnn/lib <pip wheel>",
                "home/.local/lib/python3.12/site-packages/nvidia/cu13/lib <pip wheel>",
                "root/usr/local/lib/python3.12/dist-packages/nvidia/cudnn/lib <pip wheel>",
                "root/usr/local/lib/python3.9/dist-packages/nvidia/cublas/lib <pip wheel>",
                "root/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib <pip wheel>",
                "root/usr/lib/python3/dist-packages/nvidia/cu13/lib <pip wheel>"), shown);
    }

    @Test
    void aVirtualenvOnPathIsFoundThroughItsOwnFolderAndALinkToItThroughTheTarget() throws IOException {
        Path root = dir("root");
        Path venvBin = dir("envs/torch/bin");
        Files.writeString(venvBin.resolve("python3"), "#!");
        dir("envs/torch/lib/python3.12/site-packages/nvidia/cudnn/lib");
        Path linkDir = dir("links");
        Files.createSymbolicLink(linkDir.resolve("python3"), venvBin.resolve("python3"));
        Map<String, String> env = Map.of("PATH", linkDir.toString());
        List<SearchPlace> places = LibrarySearch.forToolkit(env, tmp.resolve("home"), root).places();
        assertTrue(places.stream().anyMatch(p -> !p.isLoader()
                && p.dir().equals(tmp.resolve("envs/torch/lib/python3.12/site-packages/nvidia/cudnn/lib"))), places.toString());
    }

    @Test
    void attemptsTryTheLoaderThenEveryFolderHoldingTheFileThenTheNextVersion() throws IOException {
        Path root = dir("root");
        Path a = touch("a/libcublas.so.12").getParent();
        touch("b/libcublas.so.13");
        Path c = touch("c/libcublas.so.13").getParent();
        dir("d");
        Map<String, String> env = Map.of("DENSENET_CUDA_LIBS", a + ":" + tmp.resolve("b") + ":" + c + ":" + tmp.resolve("d"));
        LibrarySearch search = LibrarySearch.forToolkit(env, tmp.resolve("home"), root);

        List<Attempt> attempts = LibraryLoader.attempts(search,
                List.of(Candidate.of("libcublas.so.13", "libcublasLt.so.13"), Candidate.of("libcublas.so.12")));
        List<String> targets = attempts.stream().map(t -> t.path() == null ? "LOADER " + t.target() : tmp.relativize(t.path()).toString()).toList();
        assertEquals(List.of("b/libcublas.so.13", "c/libcublas.so.13", "LOADER libcublas.so.13",
                "a/libcublas.so.12", "LOADER libcublas.so.12"), targets);
    }

    @Test
    void driverSearchNeverOffersTheToolkitStub() throws IOException {
        Path stubs = dir("cuda/lib64/stubs");
        Path real = dir("nvidia/lib64");
        LibrarySearch search = LibrarySearch.forDriver(Map.of("LD_LIBRARY_PATH", stubs + ":" + real), dir("root"));
        List<Path> dirs = search.places().stream().filter(p -> !p.isLoader()).map(SearchPlace::dir).toList();
        assertEquals(List.of(real), dirs);
    }

    @Test
    void aMistypedOverrideFolderIsNamedInTheDescription() throws IOException {
        LibrarySearch search = LibrarySearch.forToolkit(Map.of("DENSENET_CUDA_LIBS", "/no/such/folder"), tmp, dir("root"));
        String d = search.describe();
        assertTrue(d.startsWith("the loader path"), d);
        assertTrue(d.contains("DENSENET_CUDA_LIBS names /no/such/folder, which is not a folder"), d);
    }

    @Test
    void notFoundIsOneLineNamingEveryPlaceSearched() throws IOException {
        Path a = dir("a");
        Path pip = dir("root/usr/lib/python3/dist-packages/nvidia/cudnn/lib");
        LibrarySearch search = LibrarySearch.forToolkit(Map.of("DENSENET_CUDA_LIBS", a.toString()), tmp, tmp.resolve("root"));
        LibraryLoader.NotLoadable e = org.junit.jupiter.api.Assertions.assertThrows(LibraryLoader.NotLoadable.class,
                () -> LibraryLoader.loadFirst("cuDNN 9", search, List.of(Candidate.of("libdensenet_absent.so.9"))));
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        assertEquals("cuDNN 9 not found: no libdensenet_absent.so.9 in " + a + " (DENSENET_CUDA_LIBS), the loader path, "
                + pip + " (pip wheel) (set DENSENET_CUDA_LIBS to the folder that holds it)", m);
    }

    @Test
    void hostLibrarySearchPutsTheSystemBeforeTheBundleAndNamesItsOwnVariable() throws IOException {
        Path root = dir("root");
        Path chosen = dir("chosen"), ld = dir("ld"), bundle = dir("bundle/lib");
        Path system = dir("root/usr/lib/x86_64-linux-gnu"), local = dir("root/usr/local/lib");
        LibrarySearch search = LibrarySearch.forHostLibrary("DENSENET_JPEG_LIBS",
                Map.of("DENSENET_JPEG_LIBS", chosen + ":/no/such/folder", "LD_LIBRARY_PATH", ld.toString()), List.of(bundle), root);
        List<String> places = search.places().stream().map(SearchPlace::describe).toList();
        assertEquals(List.of(chosen + " (DENSENET_JPEG_LIBS)", "the loader path", ld + " (LD_LIBRARY_PATH)", bundle + " (bundled)",
                system + " (system folder)", root.resolve("usr/lib") + " (system folder)", local + " (system folder)"), places);
        LibraryLoader.NotLoadable e = org.junit.jupiter.api.Assertions.assertThrows(LibraryLoader.NotLoadable.class,
                () -> LibraryLoader.loadFirst("libjpeg-turbo", search, List.of(Candidate.of("libdensenet_absent.so.0"))));
        assertTrue(e.getMessage().endsWith("; DENSENET_JPEG_LIBS names /no/such/folder, which is not a folder"
                + " (set DENSENET_JPEG_LIBS to the folder that holds it)"), e.getMessage());
    }

    @Test
    void aFileThatIsNoLibraryIsReportedWithTheLoadersOwnWords() throws IOException {
        Path bad = touch("a/libdensenet_broken.so.1");
        LibrarySearch search = LibrarySearch.forToolkit(Map.of("DENSENET_CUDA_LIBS", bad.getParent().toString()), tmp, dir("root"));
        LibraryLoader.NotLoadable e = org.junit.jupiter.api.Assertions.assertThrows(LibraryLoader.NotLoadable.class,
                () -> LibraryLoader.loadFirst("cuBLAS", search, List.of(Candidate.of("libdensenet_broken.so.1"))));
        String m = e.getMessage();
        assertTrue(m.startsWith("cuBLAS could not be loaded: " + bad + ": "), m);
        // glibc says "file too short" or "invalid ELF header" for a text file
        assertTrue(m.contains("too short") || m.contains("ELF"), m);
    }

    @Test
    void companionsInTheSameFolderLoadFirst() throws IOException {
        Path real = Path.of("/lib/x86_64-linux-gnu/libz.so.1");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(real), "needs a system libz.so.1 to copy");
        Path folder = dir("lib");
        Files.copy(real, folder.resolve("libdensenet_main.so.1"));
        Files.writeString(folder.resolve("libdensenet_companion.so.1"), "broken companion");
        LibrarySearch search = LibrarySearch.forToolkit(Map.of("DENSENET_CUDA_LIBS", folder.toString()), tmp, dir("root"));
        Candidate c = Candidate.of("libdensenet_main.so.1", "libdensenet_companion.so.1");

        LibraryLoader.NotLoadable e = org.junit.jupiter.api.Assertions.assertThrows(LibraryLoader.NotLoadable.class,
                () -> LibraryLoader.loadFirst("test library", search, List.of(c)));
        assertTrue(e.getMessage().contains(folder.resolve("libdensenet_companion.so.1").toString()), e.getMessage());

        Files.copy(real, folder.resolve("libdensenet_companion.so.1"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        LibraryLoader.Loaded loaded = assertDoesNotThrow(() -> LibraryLoader.loadFirst("test library", search, List.of(c)));
        assertEquals(folder.resolve("libdensenet_main.so.1").toString(), loaded.where());
        assertTrue(loaded.library().find("zlibVersion").isPresent(), "the loaded copy exports libz's symbols");
    }

    @Test
    void aSonameOnTheLoaderPathLoadsWithoutAFolder() throws Exception {
        LibraryLoader.Loaded loaded = LibraryLoader.loadFirst("libc", LibrarySearch.forToolkit(Map.of(), tmp, dir("root")),
                List.of(Candidate.of("libc.so.6")));
        assertNull(loaded.from().path());
        assertEquals("libc.so.6 (loader path)", loaded.where());
        assertTrue(loaded.library().find("strlen").isPresent());
    }

    private static <T> T assertDoesNotThrow(org.junit.jupiter.api.function.ThrowingSupplier<T> s) {
        return org.junit.jupiter.api.Assertions.assertDoesNotThrow(s);
    }
}
