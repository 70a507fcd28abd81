package org.densenet.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripKeepsOrderValuesShapesAndMetadata() throws IOException {
        Random rnd = new Random(7);
        float[] f = new float[2 * 3 * 5];
        for (int i = 0; i < f.length; i++) f[i] = (float) rnd.nextGaussian();
        double[] d = new double[7];
        for (int i = 0; i < d.length; i++) d[i] = rnd.nextGaussian() * 1e-12;
        int[] ints = {3, -1, Integer.MAX_VALUE, Integer.MIN_VALUE};
        long[] longs = {Long.MAX_VALUE, -5, 1L << 40};
        Map<String, HostTensor> in = new LinkedHashMap<>();
        in.put("z.weight", HostTensor.ofF32(f, 2, 3, 5));
        in.put("a.double", HostTensor.ofF64(d, 7));
        in.put("m.ints", HostTensor.ofI32(ints, 2, 2));
        in.put("b.num_batches_tracked", HostTensor.ofI64(longs, 3));
        in.put("scalar", HostTensor.ofF64(new double[] {Math.PI}));
        in.put("empty", HostTensor.ofF32(new float[0], 0, 4));
        Map<String, String> meta = Map.of("growth", "12", "quote\"and\\slash", "line\nbreak \u00e9");
        Path file = dir.resolve("w.safetensors");

        SafeTensors.write(file, in, meta);
        SafeTensors.Contents back = SafeTensors.load(file);

        assertEquals(List.copyOf(in.keySet()), List.copyOf(back.tensors().keySet()));
        assertEquals(in, back.tensors());
        assertEquals(meta, back.metadata());
        assertEquals(meta, SafeTensors.readMetadata(file));
        assertArrayEquals(new int[] {2, 3, 5}, back.tensors().get("z.weight").shape());
        assertEquals(0, back.tensors().get("scalar").rank());
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(file), left.toList(), "no temporary file may be left behind");
        }
    }

    @Test
    void headerIsPaddedToEightBytesAndDataIsLittleEndian() throws IOException {
        Path file = dir.resolve("p.safetensors");
        SafeTensors.write(file, Map.of("x", HostTensor.ofI32(new int[] {0x01020304}, 1)), Map.of());
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        assertEquals(8 + n + 4, bytes.length);
        assertEquals(0x04, bytes[(int) (8 + n)]);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"x\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", header.strip());
    }

    @Test
    void rewritingReplacesTheWholeFile() throws IOException {
        Path file = dir.resolve("r.safetensors");
        SafeTensors.write(file, Map.of("big", HostTensor.ofF64(new double[100], 100)));
        SafeTensors.write(file, Map.of("small", HostTensor.ofF32(new float[] {1.5f}, 1)));
        assertEquals(Map.of("small", HostTensor.ofF32(new float[] {1.5f}, 1)), SafeTensors.read(file));
    }

    @Test
    void readsAFileWrittenByPython() throws IOException {
        Path file = dir.resolve("python-written.safetensors");
        try (InputStream in = SafeTensorsTest.class.getResourceAsStream("python-written.safetensors")) {
            Files.copy(in, file);
        }
        SafeTensors.Contents c = SafeTensors.load(file);
        Map<String, HostTensor> t = c.tensors();
        assertEquals(List.of("weights_f32", "values_f64", "labels_i64", "counts_i32", "half_f16", "brain_bf16",
                "scalar_f64", "empty_f32", "shorts_i16", "bytes_i8", "pixels_u8", "mask_bool"), List.copyOf(t.keySet()));
        assertEquals(HostTensor.ofF32(new float[] {0.5f, -1.25f, 3f, 0.001f, -7.75f, 100f}, 2, 3), t.get("weights_f32"));
        assertEquals(HostTensor.ofF64(new double[] {1.0 / 3.0, -2.5e-10, 12345.678}, 3), t.get("values_f64"));
        assertEquals(HostTensor.ofI64(new long[] {0, 9, -1, 1L << 40}, 4), t.get("labels_i64"));
        assertEquals(HostTensor.ofI32(new int[] {1, -2, 3, -4}, 2, 2), t.get("counts_i32"));
        assertEquals(HostTensor.ofF32(new float[] {1.5f, -0.25f, 65504f}, 3), t.get("half_f16"));
        assertEquals(HostTensor.ofF32(new float[] {1f, -3.5f}, 2), t.get("brain_bf16"));
        assertEquals(HostTensor.ofF64(new double[] {2.75}), t.get("scalar_f64"));
        assertEquals(0, t.get("empty_f32").numel());
        // the small integer types and booleans widen to int32
        assertEquals(HostTensor.ofI32(new int[] {-32768, 7, 32767}, 3), t.get("shorts_i16"));
        assertEquals(HostTensor.ofI32(new int[] {-128, -1, 127}, 3), t.get("bytes_i8"));
        assertEquals(HostTensor.ofI32(new int[] {0, 200, 255, 13}, 2, 2), t.get("pixels_u8"));
        assertEquals(HostTensor.ofI32(new int[] {1, 0, 1}, 3), t.get("mask_bool"));
        assertEquals(Map.of("format", "pt", "note", "written by make_io_fixture.py"), c.metadata());
    }

    @Test
    void truncatedFileIsReported() throws IOException {
        Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertError(file, "truncated");
    }

    @Test
    void headerLengthBeyondFileIsReported() throws IOException {
        Path file = dir.resolve("long.safetensors");
        Files.write(file, raw(1000, "{}", 0));
        assertError(file, "header length 1000 goes beyond the end of the file");
    }

    @Test
    void dataCutShortIsReported() throws IOException {
        Path file = dir.resolve("cut.safetensors");
        SafeTensors.write(file, Map.of("x", HostTensor.ofF32(new float[] {1, 2, 3, 4}, 4)));
        byte[] all = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(all, all.length - 3));
        assertError(file, "outside the data area");
    }

    @Test
    void overlappingOffsetsAreReported() throws IOException {
        Path file = dir.resolve("overlap.safetensors");
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        Files.write(file, raw(-1, h, 12));
        assertError(file, "overlap");
    }

    @Test
    void unknownDtypeIsReported() throws IOException {
        Path file = dir.resolve("c64.safetensors");
        Files.write(file, raw(-1, "{\"a\":{\"dtype\":\"C64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16));
        assertError(file, "unknown or unsupported dtype C64");
    }

    @Test
    void shapeAndByteCountMismatchIsReported() throws IOException {
        Path file = dir.resolve("mismatch.safetensors");
        Files.write(file, raw(-1, "{\"a\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16));
        assertError(file, "needs 24 bytes, but its data_offsets span 16");
    }

    @Test
    void brokenJsonAndNonStringMetadataAreReported() throws IOException {
        Path json = dir.resolve("json.safetensors");
        Files.write(json, raw(-1, "{\"a\": [1, 2", 0));
        assertError(json, "not valid JSON");
        Path meta = dir.resolve("meta.safetensors");
        Files.write(meta, raw(-1, "{\"__metadata__\":{\"epoch\":3}}", 0));
        assertError(meta, "is not a string");
    }

    @Test
    void hostTensorRejectsInconsistentArrays() {
        assertThrows(IllegalArgumentException.class, () -> HostTensor.ofF32(new float[5], 2, 3));
        assertThrows(IllegalArgumentException.class,
                () -> new HostTensor(HostTensor.Kind.F64, new int[] {1}, new float[1], null, null, null));
        assertThrows(IllegalArgumentException.class,
                () -> new HostTensor(HostTensor.Kind.F32, new int[] {1}, new float[1], new double[1], null, null));
        assertThrows(ArithmeticException.class, () -> HostTensor.ofI64(new long[] {1L << 33}, 1).toIntArray());
        assertArrayEquals(new int[] {4, -2}, HostTensor.ofI64(new long[] {4, -2}, 2).toIntArray());
        assertArrayEquals(new double[] {0.5, 2}, HostTensor.ofF32(new float[] {0.5f, 2f}, 2).toDoubleArray());
    }

    /** A file with a hand-made header; headerLength -1 means the header's true length. */
    static byte[] raw(long headerLength, String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength < 0 ? h.length : headerLength).put(h);
        return b.array();
    }

    static IOException assertError(Path file, String expected) {
        IOException e = assertThrows(IOException.class, () -> SafeTensors.read(file));
        assertTrue(e.getMessage().startsWith(file.toString()), "error must name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
        return e;
    }
}
