package org.densenet.train.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;

/** Small data files in the real formats, made on the fly. */
final class TestData {
    private TestData() {
    }

    static byte[] randomPixels(int n, int perImage, long seed) {
        byte[] b = new byte[n * perImage];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    static int[] randomLabels(int n, int classes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] l = new int[n];
        for (int i = 0; i < n; i++) l[i] = r.nextInt(classes);
        return l;
    }

    /** A gzip-compressed ustar archive holding the given members under {@code folder/}. */
    static void writeTarGz(Path file, String folder, Map<String, byte[]> members) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            for (Map.Entry<String, byte[]> e : members.entrySet()) {
                byte[] h = new byte[512];
                put(h, 0, folder + "/" + e.getKey());
                put(h, 100, "0000644");
                put(h, 108, "0000000");
                put(h, 116, "0000000");
                put(h, 124, String.format("%011o", e.getValue().length));
                put(h, 136, "00000000000");
                h[156] = '0';
                put(h, 257, "ustar");
                for (int i = 148; i < 156; i++) h[i] = ' ';
                int sum = 0;
                for (byte x : h) sum += x & 0xFF;
                put(h, 148, String.format("%06o", sum));
                out.write(h);
                out.write(e.getValue());
                out.write(new byte[(512 - e.getValue().length % 512) % 512]);
            }
            out.write(new byte[1024]);
        }
    }

    private static void put(byte[] h, int off, String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, h, off, b.length);
    }

    static byte[] idx(int magic, int[] dims, byte[] data) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        writeInt(o, magic);
        for (int d : dims) writeInt(o, d);
        o.writeBytes(data);
        return o.toByteArray();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(o)) {
            g.write(data);
        }
        return o.toByteArray();
    }

    private static void writeInt(ByteArrayOutputStream o, int v) {
        o.write(v >>> 24);
        o.write(v >>> 16);
        o.write(v >>> 8);
        o.write(v);
    }
}
