package org.densenet.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Files written by torch.save in scripts/fixtures/make_torch_fixtures.py, and damaged copies of them. */
class TorchFileTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"all-zip.pt", "all-legacy.pt"})
    void everyDtypeViewAndPlainValueReadsAsPyTorchSavedIt(String name) throws IOException {
        Path file = fixture(name);
        assertEquals(name.contains("zip") ? TensorFileFormat.TORCH_ZIP : TensorFileFormat.TORCH_LEGACY, TensorFileFormat.of(file));
        Map<?, ?> all = (Map<?, ?>) TorchFile.load(file);
        Map<String, HostTensor> expected = SafeTensors.read(fixture("all-expected.safetensors"));
        List<Object> keys = new java.util.ArrayList<>(expected.keySet());
        keys.add("plain");
        assertEquals(keys, List.copyOf(all.keySet()), "the pickle's dict order");
        for (Map.Entry<String, HostTensor> e : expected.entrySet()) {
            HostTensor got = (HostTensor) all.get(e.getKey());
            assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
            // strided views (transposed, row, every_other, expanded) come out as PyTorch's .contiguous()
            assertArrayEquals(e.getValue().toDoubleArray(), got.toDoubleArray(), e.getKey());
        }
        Map<String, HostTensor.Kind> kinds = Map.of("f32", HostTensor.Kind.F32, "f64", HostTensor.Kind.F64, "f16", HostTensor.Kind.F32,
                "bf16", HostTensor.Kind.F32, "i64", HostTensor.Kind.I64, "i16", HostTensor.Kind.I32, "u8", HostTensor.Kind.I32,
                "bool", HostTensor.Kind.I32, "param", HostTensor.Kind.F32, "scalar", HostTensor.Kind.F64);
        kinds.forEach((k, kind) -> assertEquals(kind, ((HostTensor) all.get(k)).dtype(), k));
        assertEquals(65504.0, ((HostTensor) all.get("f16")).toDoubleArray()[2]);
        assertEquals(0, ((HostTensor) all.get("scalar")).rank());

        Map<?, ?> plain = (Map<?, ?>) all.get("plain");
        assertEquals(3, plain.get("epoch"));
        assertEquals("densenet121", plain.get("arch"));
        assertEquals(0.1, plain.get("lr"));
        assertEquals(List.of(150, 225), plain.get("milestones"));
        assertEquals(List.of(0.9, 0.999), plain.get("betas"));
        assertTrue(plain.containsKey("none"));
        assertNull(plain.get("none"));
        assertEquals(true, plain.get("flag"));
        assertEquals(1L << 40, ((Number) plain.get("big")).longValue());
        assertEquals(-5, plain.get("neg"));
    }

    @Test
    void aPickleThatWouldRunCodeIsRefusedNamingTheGlobal() throws IOException {
        assertError(fixture("forbidden-zip.pt"), "refused global os.system");
        assertError(fixture("forbidden-legacy.pt"), "refused global builtins.eval");
        Path sparse = zipWith("archive/data.pkl", pickle("c", "torch._utils\n_rebuild_sparse_tensor\n", ")R."));
        assertError(sparse, "refused global torch._utils._rebuild_sparse_tensor");
        Path stackGlobal = zipWith("archive/data.pkl", pickle("X\u0002\0\0\0osX\u0006\0\0\0system\u0093)R."));
        assertError(stackGlobal, "refused global os.system");
    }

    @Test
    void truncatedZipFilesAreReportedNamingTheFile() throws IOException {
        byte[] all = Files.readAllBytes(fixture("all-zip.pt"));
        for (int length : new int[]{10, all.length / 2, all.length - 10}) {
            assertError(cut(all, length), "a zip file that is truncated or damaged");
        }
    }

    @Test
    void truncatedLegacyFilesAreReportedNamingTheFile() throws IOException {
        byte[] all = Files.readAllBytes(fixture("all-legacy.pt"));
        assertError(cut(all, 5), "truncated: the file ends inside a pickle");
        assertError(cut(all, 400), "truncated: the file ends inside a pickle");
        assertError(cut(all, all.length - 1), "truncated: storage");
        assertError(cut(all, all.length - 20), "truncated: storage");
    }

    @Test
    void filesOfOtherKindsSayWhatTheyLookLike() throws IOException {
        assertError(zipWith("readme.txt", "hello".getBytes()), "a zip file without data.pkl");
        Path script = dir.resolve("script.pt");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(script))) {
            for (String n : List.of("m/data.pkl", "m/constants.pkl")) {
                z.putNextEntry(new ZipEntry(n));
                z.write(pickle("K\u0001."));
            }
        }
        assertError(script, "a TorchScript archive");
        assertError(write("notes.pth", "just some text".getBytes()), "not a safetensors file or a PyTorch file (it starts with the bytes 6a 75");
        assertError(write("weights.pth.gz", new byte[]{0x1f, (byte) 0x8b, 8, 0}), "gzip-compressed");
        assertError(write("empty.pth", new byte[0]), "it is empty");
        assertError(write("plain.pkl", pickle("K\u0005.")), "a pickle, but not one torch.save wrote");
        assertError(write("w.safetensors", new byte[]{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'}), "a safetensors file, not a PyTorch file");
    }

    @Test
    void theFormatIsToldByContentNotByName() throws IOException {
        assertEquals(TensorFileFormat.TORCH_ZIP, TensorFileFormat.of(Files.copy(fixture("all-zip.pt"), dir.resolve("a.safetensors"))));
        assertEquals(TensorFileFormat.TORCH_LEGACY, TensorFileFormat.of(Files.copy(fixture("all-legacy.pt"), dir.resolve("b.bin"))));
        // a header of 0x380 bytes: the file starts with 0x80, as a pickle does
        Path st = dir.resolve("c.pth");
        SafeTensors.write(st, Map.of("x", HostTensor.ofF32(new float[]{1.5f}, 1)), Map.of("pad", "p".repeat(0x380 - 80)));
        assertEquals((byte) 0x80, Files.readAllBytes(st)[0], "the test needs a header length whose low byte is 0x80");
        assertEquals(TensorFileFormat.SAFETENSORS, TensorFileFormat.of(st));
    }

    @Test
    void damagedPicklesAndLengthsBeyondTheFileAreReported() throws IOException {
        assertError(zipWith("archive/data.pkl", pickle("\u00ff")), "a damaged pickle");
        // a string claiming 2 GB: refused before anything is allocated
        assertError(zipWith("archive/data.pkl", pickle("X\u00ff\u00ff\u00ff\u007f")), "ends inside a pickle");
        assertError(zipWith("archive/data.pkl", pickle("(X\u0007\0\0\0storageK\u0001K\u0002K\u0003K\u0004tQ.")), "names no storage class");
        assertError(zipWith("archive/data.pkl", pickle("(X\u0006\0\0\0moduleK\u0001tQ.")), "refused persistent id");
    }

    private Path zipWith(String entry, byte[] content) throws IOException {
        Path file = dir.resolve("z" + Math.abs(entry.hashCode() + Arrays.hashCode(content)) + ".pt");
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(out)) {
            z.putNextEntry(new ZipEntry(entry));
            z.write(content);
        }
        return file;
    }

    /** PROTO 2 and then the opcodes, one char per byte. */
    private static byte[] pickle(String... opcodes) {
        String s = "\u0080\u0002" + String.join("", opcodes);
        byte[] b = new byte[s.length()];
        for (int i = 0; i < b.length; i++) b[i] = (byte) s.charAt(i);
        return b;
    }

    private Path cut(byte[] all, int length) throws IOException {
        return write("cut-" + length + ".pt", Arrays.copyOf(all, length));
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private Path fixture(String name) throws IOException {
        Path file = dir.resolve(name);
        if (!Files.exists(file)) {
            try (InputStream in = TorchFileTest.class.getResourceAsStream("torch/" + name)) {
                Files.copy(in, file);
            }
        }
        return file;
    }

    private static void assertError(Path file, String expected) {
        IOException e = assertThrows(IOException.class, () -> TorchFile.load(file));
        assertTrue(e.getMessage().startsWith(file.toString()), "the error must name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}
