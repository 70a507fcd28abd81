package org.densenet.train.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/** Reads chosen members of a gzip-compressed tar archive (ustar / GNU headers) into memory. */
final class TarGz {
    private TarGz() {
    }

    /**
     * The contents of the regular files whose base name is in {@code wanted}, keyed by base name.
     * Members not wanted are skipped without being kept.
     */
    static Map<String, byte[]> read(Path archive, Set<String> wanted) {
        Map<String, byte[]> found = new HashMap<>();
        try (InputStream in = new BufferedInputStream(new GZIPInputStream(Files.newInputStream(archive), 1 << 16), 1 << 16)) {
            byte[] header = new byte[512];
            String longName = null;
            while (true) {
                if (!readFully(in, header)) break;
                if (isZero(header)) break;
                String name = longName != null ? longName : cString(header, 0, 100);
                longName = null;
                long size = octal(archive, header, 124, 12);
                char type = (char) header[156];
                long padded = (size + 511) / 512 * 512;
                if (type == 'L') {  // GNU long name: the next header's name is this member's content
                    byte[] data = readBytes(archive, in, size);
                    skip(in, padded - size);
                    longName = new String(data, StandardCharsets.UTF_8).replace("\0", "");
                    continue;
                }
                String base = name.substring(name.lastIndexOf('/') + 1);
                if ((type == '0' || type == '\0') && wanted.contains(base)) {
                    found.put(base, readBytes(archive, in, size));
                    skip(in, padded - size);
                } else {
                    skip(in, padded);
                }
            }
        } catch (EOFException e) {
            throw DataException.at(archive, "archive is truncated (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw DataException.at(archive, "cannot read gzip tar archive: " + e.getMessage());
        }
        return found;
    }

    private static byte[] readBytes(Path archive, InputStream in, long size) throws IOException {
        if (size > Integer.MAX_VALUE - 16) throw DataException.at(archive, "member of " + size + " bytes is too large");
        byte[] data = new byte[(int) size];
        if (!readFully(in, data)) throw new EOFException("member ends after fewer than " + size + " bytes");
        return data;
    }

    private static boolean readFully(InputStream in, byte[] buf) throws IOException {
        int n = in.readNBytes(buf, 0, buf.length);
        if (n == 0) return false;
        if (n < buf.length) throw new EOFException("expected " + buf.length + " bytes, got " + n);
        return true;
    }

    private static void skip(InputStream in, long n) throws IOException {
        in.skipNBytes(n);
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) if (x != 0) return false;
        return true;
    }

    private static String cString(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) end++;
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static long octal(Path archive, byte[] b, int off, int len) {
        String s = cString(b, off, len).trim();
        if (s.isEmpty()) return 0;
        try {
            return Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw DataException.at(archive, "not a tar archive (bad size field '" + s + "')");
        }
    }
}
