package org.densenet.engine.cuda.ffm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.densenet.engine.cuda.CudaException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * NVIDIA's own libnccl.so.2, where this machine has it: installed where the library search looks
 * (pip's nvidia/nccl/lib among them), or as the {@code nvidia-nccl-cu*} wheel in a local wheel
 * folder (unpacked once into target/). It loads and answers without a GPU; a communicator needs
 * the driver, so without one the error path is what is checked. Skipped, saying why, elsewhere.
 */
class NcclRealLibraryTest {
    private static final String WHEEL_MEMBER = "nvidia/nccl/lib/libnccl.so.2";
    private static Nccl nccl;

    @BeforeAll
    static void find() throws Exception {
        try {
            nccl = NcclLibrary.load();
            return;
        } catch (LibraryLoader.NotLoadable e) {
            // not installed; a wheel on disk is the next place
        }
        Path lib = fromWheel();
        Assumptions.assumeTrue(lib != null, "no NCCL: " + NcclLibrary.describe() + "; and no nvidia_nccl_cu*.whl in "
                + wheelFolders() + " (or -Ddensenet.nccl.wheel)");
        nccl = NcclLibrary.load(LibrarySearch.forToolkit(Map.of(LibrarySearch.ENV_LIBS, lib.getParent().toString()), lib.getParent(),
                lib.getParent().resolve("no-root")));
    }

    @Test
    void reportsAVersionAtLeastTheMinimumAndMakesUniqueIds() {
        int version = nccl.version();
        assertTrue(version >= Nccl.MIN_VERSION, "version " + version);
        assertTrue(Nccl.describeVersion(version).matches("2\\.\\d+\\.\\d+"), Nccl.describeVersion(version));
        byte[] id = nccl.uniqueId();
        assertEquals(Nccl.UNIQUE_ID_BYTES, id.length);
        boolean anySet = false;
        for (byte b : id) anySet |= b != 0;
        assertTrue(anySet, "an all-zero unique id");
    }

    @Test
    void aCommunicatorWithoutADriverFailsNamingTheCallAndNcclsReason() {
        Assumptions.assumeFalse(hasDriver(), "this machine has an NVIDIA driver; the no-driver error path cannot be shown here");
        CudaException e = org.junit.jupiter.api.Assertions.assertThrows(CudaException.class, () -> nccl.initRank(1, nccl.uniqueId(), 0));
        assertTrue(e.getMessage().startsWith("joining the NCCL communicator as rank 0 of 1: ncclCommInitRank failed: ncclUnhandledCudaError (1): "
                + "unhandled cuda error"), e.getMessage());
        assertTrue(e.getMessage().contains("Cuda failure"), "ncclGetLastError's detail is missing: " + e.getMessage());
    }

    private static boolean hasDriver() {
        try {
            CudaLibraries.driver();
            return true;
        } catch (LibraryLoader.NotLoadable e) {
            return false;
        }
    }

    private static List<Path> wheelFolders() {
        List<Path> out = new ArrayList<>();
        for (Path opt : list(Path.of("/opt"))) {
            if (opt.getFileName().toString().startsWith("pypi")) out.add(opt.resolve("files"));
        }
        out.add(Path.of("/opt/wheels"));
        return out.stream().filter(Files::isDirectory).toList();
    }

    /** libnccl.so.2 unpacked from the wheel into target/nccl-wheel (kept between runs: it is 250 MB), or null. */
    private static Path fromWheel() throws IOException {
        String property = System.getProperty("densenet.nccl.wheel");
        Path wheel = property != null ? Path.of(property) : null;
        for (Path dir : wheelFolders()) {
            if (wheel != null) break;
            wheel = list(dir).stream().filter(p -> p.getFileName().toString().matches("nvidia_nccl_cu\\d+-.*\\.whl")).findFirst().orElse(null);
        }
        if (wheel == null) return null;
        Path target = Path.of("target", "nccl-wheel", wheel.getFileName().toString().replace(".whl", ""), "libnccl.so.2").toAbsolutePath();
        if (Files.isRegularFile(target)) return target;
        try (ZipFile zip = new ZipFile(wheel.toFile())) {
            ZipEntry entry = zip.getEntry(WHEEL_MEMBER);
            if (entry == null) return null;
            Files.createDirectories(target.getParent());
            Path part = target.resolveSibling("libnccl.so.2.part");
            try (InputStream in = zip.getInputStream(entry)) {
                Files.copy(in, part, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
        }
        return target;
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
