package org.densenet.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The table of contents of an NVIDIA fatbin container, read without the CUDA toolkit: which
 * architectures it carries as SASS (ELF cubins) and as PTX. Layout (little-endian): a 16-byte
 * header {u32 magic 0xBA55ED50, u16 version, u16 headerSize, u64 payloadSize}, then entries, each
 * {u16 kind (1 PTX, 2 ELF), u16, u32 entryHeaderSize, u64 dataSize, u32 compressedSize, u32,
 * u16 minor, u16 major, u32 arch, ..., u64 flags at +40} followed by its data.
 */
public record Fatbin(List<Entry> entries) {

    public static final int MAGIC = 0xBA55ED50;

    public enum Kind { PTX, ELF }

    /** One code object: its kind, its architecture (e.g. 90 for sm_90) and where its bytes lie. */
    public record Entry(Kind kind, int arch, int dataOffset, int dataSize, boolean compressed) {
        public Entry {
            if (arch <= 0 || dataOffset < 0 || dataSize < 0) {
                throw new IllegalArgumentException("bad fatbin entry: arch " + arch + ", offset " + dataOffset + ", size " + dataSize);
            }
        }
    }

    public Fatbin {
        entries = List.copyOf(entries);
    }

    /** Parses every container in {@code image} (nvcc writes one; several are allowed back to back). */
    public static Fatbin parse(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        List<Entry> entries = new ArrayList<>();
        int pos = 0;
        while (pos < image.length) {
            if (image.length - pos < 16 || b.getInt(pos) != MAGIC) {
                throw new IllegalArgumentException("not a fatbin: no container header at byte " + pos
                        + " (expected magic 0x" + Integer.toHexString(MAGIC) + ")");
            }
            int headerSize = Short.toUnsignedInt(b.getShort(pos + 6));
            long payload = b.getLong(pos + 8);
            long end = pos + headerSize + payload;
            if (payload < 0 || end > image.length) throw new IllegalArgumentException("fatbin container at byte " + pos + " is truncated");
            int e = pos + headerSize;
            while (e < end) {
                int kind = Short.toUnsignedInt(b.getShort(e));
                int entryHeader = b.getInt(e + 4);
                long size = b.getLong(e + 8);
                int arch = b.getInt(e + 28);
                long flags = b.getLong(e + 40);
                if (entryHeader < 64 || size < 0 || e + entryHeader + size > end) {
                    throw new IllegalArgumentException("fatbin entry at byte " + e + " is malformed");
                }
                Kind k = switch (kind) {
                    case 1 -> Kind.PTX;
                    case 2 -> Kind.ELF;
                    default -> throw new IllegalArgumentException("fatbin entry at byte " + e + " has unknown kind " + kind);
                };
                boolean compressed = (flags & 0xA000L) != 0 || b.getInt(e + 16) != 0;
                entries.add(new Entry(k, arch, e + entryHeader, (int) size, compressed));
                e += entryHeader + (int) size;
            }
            pos = (int) end;
        }
        return new Fatbin(entries);
    }

    public List<Integer> archs(Kind kind) {
        List<Integer> out = new ArrayList<>();
        for (Entry e : entries) {
            if (e.kind() == kind) out.add(e.arch());
        }
        return out;
    }

    /**
     * Whether the uncompressed entry {@code e} of {@code image} defines kernel {@code name}: a PTX
     * entry declares it as {@code .entry name(}; a cubin has a section named {@code .text.name}.
     */
    public static boolean defines(byte[] image, Entry e, String name) {
        if (e.compressed()) throw new IllegalStateException("fatbin entry for arch " + e.arch() + " is compressed; build with --compress-mode=none");
        byte[] needle = (e.kind() == Kind.PTX ? ".entry " + name + "(" : ".text." + name + "\0").getBytes(StandardCharsets.US_ASCII);
        int last = e.dataOffset() + e.dataSize() - needle.length;
        outer:
        for (int i = e.dataOffset(); i <= last; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (image[i + j] != needle[j]) continue outer;
            }
            return true;
        }
        return false;
    }
}
