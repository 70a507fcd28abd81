package org.densenet.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The committed fatbin and manifest were built from the sources as they are now, and hold what they say. */
class KernelImageTest {
    static final Path SOURCES = Path.of("src/main/cuda");
    private static final String STALE = "the committed kernel image is stale: run kernels/build-fatbin.sh and commit its output";

    @Test
    void manifestHashesEverySourceFileAndNothingElse() throws IOException {
        Map<String, String> actual = new TreeMap<>();
        for (Path f : sourceFiles()) actual.put(f.getFileName().toString(), sha256(Files.readAllBytes(f)));
        Map<String, String> recorded = KernelImage.manifest().sourceSha256();
        assertEquals(actual.keySet(), recorded.keySet(), "source files differ from the manifest's list; " + STALE);
        for (var e : actual.entrySet()) {
            assertEquals(e.getValue(), recorded.get(e.getKey()), e.getKey() + " changed since the fatbin was built; " + STALE);
        }
    }

    @Test
    void fatbinBytesAreTheOnesTheManifestDescribes() {
        assertEquals(KernelImage.manifest().fatbinSha256(), sha256(KernelImage.fatbin()), STALE);
    }

    @Test
    void fatbinCarriesSassAndPtxForEveryListedArchitecture() {
        KernelManifest m = KernelImage.manifest();
        Fatbin f = Fatbin.parse(KernelImage.fatbin());
        assertEquals(new TreeSet<>(m.sassArchs()), new TreeSet<>(f.archs(Fatbin.Kind.ELF)), "SASS architectures");
        assertEquals(new TreeSet<>(m.ptxArchs()), new TreeSet<>(f.archs(Fatbin.Kind.PTX)), "PTX architectures");
        assertTrue(m.sassArchs().contains(75) && m.sassArchs().contains(90), "SASS for sm_75 (oldest CUDA 13 target) and sm_90 (H100)");
    }

    @Test
    void everyEntryOfTheFatbinDefinesEveryManifestKernel() {
        byte[] image = KernelImage.fatbin();
        Fatbin f = Fatbin.parse(image);
        assertFalse(f.entries().isEmpty());
        for (Fatbin.Entry e : f.entries()) {
            for (String k : KernelImage.manifest().kernels()) {
                assertTrue(Fatbin.defines(image, e, k), k + " missing from the " + e.kind() + " entry for arch " + e.arch());
            }
            assertFalse(Fatbin.defines(image, e, "no_such_kernel_f32"), "the name search must be able to fail");
        }
    }

    @Test
    void manifestKernelsAreExactlyTheExternCEntryPointsOfTheSources() throws IOException {
        Pattern entry = Pattern.compile("extern \"C\" __global__ void (?:__launch_bounds__\\([^)]*\\) )?(\\w+)\\(");
        List<String> declared = new ArrayList<>();
        for (Path f : sourceFiles()) {
            Matcher m = entry.matcher(Files.readString(f));
            while (m.find()) declared.add(m.group(1));
        }
        assertEquals(new TreeSet<>(declared), new TreeSet<>(KernelImage.manifest().kernels()));
        assertEquals(declared.size(), new TreeSet<>(declared).size(), "a kernel name is declared twice: " + declared);
    }

    @Test
    void everyFamilyFileOpensWithACommentAndIsIncludedByAllCu() throws IOException {
        String all = Files.readString(SOURCES.resolve("all.cu"));
        for (Path f : sourceFiles()) {
            String name = f.getFileName().toString();
            assertTrue(Files.readString(f).startsWith("//"), name + " must open with a comment saying what it computes");
            if (name.endsWith(".cu") && !name.equals("all.cu")) {
                assertTrue(all.contains("#include \"" + name + "\""), "all.cu does not include " + name + ", so the fatbin lacks it");
            }
        }
    }

    static List<Path> sourceFiles() throws IOException {
        try (Stream<Path> s = Files.list(SOURCES)) {
            return s.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh")).sorted().toList();
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
