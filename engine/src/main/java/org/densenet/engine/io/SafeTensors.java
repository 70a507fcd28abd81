package org.densenet.engine.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the safetensors format (huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON ({@code name -> {dtype, shape, data_offsets}} plus an
 * optional {@code __metadata__} of string to string), then the raw little-endian tensor data,
 * offsets counted from the end of the header. PyTorch, JAX and NumPy tools read and write it,
 * which is why the project's weights, checkpoints and reference fixtures use it.
 */
public final class SafeTensors {
    private static final String METADATA = "__metadata__";
    /** The reference implementation refuses headers above 100 MB (10^8 bytes); so do we, before allocating. */
    static final long MAX_HEADER = 100_000_000L;

    private SafeTensors() {
    }

    /** Tensors in header order and the free-form metadata of one file. */
    public record Contents(Map<String, HostTensor> tensors, Map<String, String> metadata) {
        public Contents {
            tensors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            metadata = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    /** The tensors of a file in header order. F16 and BF16 are widened to F32; I16, I8, U8 and BOOL to I32. */
    public static Map<String, HostTensor> read(Path file) throws IOException {
        return new LinkedHashMap<>(load(file).tensors());
    }

    /** The string metadata of a file (empty when it has none), without reading tensor data. */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return new Reader(file, ch).header().metadata;
        }
    }

    /** Tensors and metadata of a file. Every structural problem is an IOException naming the file. */
    public static Contents load(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Reader r = new Reader(file, ch);
            Header h = r.header();
            Map<String, HostTensor> tensors = new LinkedHashMap<>();
            for (Entry e : h.entries) tensors.put(e.name, r.tensor(e, h.dataStart));
            return new Contents(tensors, h.metadata);
        }
    }

    public static void write(Path file, Map<String, HostTensor> tensors) throws IOException {
        write(file, tensors, Map.of());
    }

    /**
     * Writes F32, F64, I32 and I64 tensors in the map's order. Atomic: the bytes go to a temporary
     * file in the same folder, are forced to disk and then renamed over {@code file}, so a reader
     * (or a crash) never sees half a file.
     */
    public static void write(Path file, Map<String, HostTensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) header.put(METADATA, new LinkedHashMap<>(metadata));
        long offset = 0;
        for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isEmpty() || name.equals(METADATA)) {
                throw new IllegalArgumentException("invalid tensor name '" + name + "' for " + file);
            }
            HostTensor t = e.getValue();
            long bytes = t.numel() * t.dtype().bytes();
            List<Object> shape = new ArrayList<>();
            for (int d : t.shape()) shape.add(d);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", t.dtype().name());
            entry.put("shape", shape);
            entry.put("data_offsets", List.of(offset, offset + bytes));
            header.put(name, entry);
            offset += bytes;
        }
        byte[] json = JsonCodec.write(header).getBytes(StandardCharsets.UTF_8);
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        int padded = (json.length + 7) / 8 * 8;

        AtomicFile.write(file, ch -> {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) head.put((byte) ' ');
            AtomicFile.writeFully(ch, head.flip());
            for (HostTensor t : tensors.values()) AtomicFile.writeFully(ch, encode(t));
        });
    }

    private static ByteBuffer encode(HostTensor t) {
        long bytes = t.numel() * t.dtype().bytes();
        if (bytes > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("tensor of " + bytes + " bytes is too large to write");
        ByteBuffer b = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case F32 -> b.asFloatBuffer().put(t.f32());
            case F64 -> b.asDoubleBuffer().put(t.f64());
            case I32 -> b.asIntBuffer().put(t.i32());
            case I64 -> b.asLongBuffer().put(t.i64());
        }
        return b;
    }

    private record Entry(String name, ElementType dtype, int[] shape, long begin, long end) {
    }

    private record Header(List<Entry> entries, Map<String, String> metadata, long dataStart) {
    }

    /** One pass over one open file; every error message starts with the file's name. */
    private record Reader(Path file, FileChannel ch) {

        Header header() throws IOException {
            long size = ch.size();
            if (size < 8) throw fail("truncated: " + size + " bytes, but a safetensors file starts with an 8-byte header length");
            ByteBuffer lenBuf = readAt(0, 8);
            long n = lenBuf.order(ByteOrder.LITTLE_ENDIAN).getLong();
            // first, as the reference does: a file that is long enough must not make us allocate the header
            if (n < 0 || n > MAX_HEADER) {
                throw fail("header length " + Long.toUnsignedString(n) + " is above the format's limit of " + MAX_HEADER
                        + " bytes (100 MB); not a safetensors file?");
            }
            if (n > size - 8) throw fail("header length " + n + " goes beyond the end of the file (" + size + " bytes)");
            String text;
            try {
                CharBuffer cb = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(readAt(8, (int) n));
                text = cb.toString();
            } catch (CharacterCodingException e) {
                throw fail("header is not valid UTF-8");
            }
            Object parsed;
            try {
                parsed = JsonCodec.parse(text);
            } catch (IllegalArgumentException e) {
                throw fail("header is " + e.getMessage());
            }
            if (!(parsed instanceof Map<?, ?> root)) throw fail("header must be a JSON object");

            long dataStart = 8 + n;
            long dataSize = size - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            List<Entry> entries = new ArrayList<>();
            for (Map.Entry<?, ?> e : root.entrySet()) {
                String name = (String) e.getKey();
                if (name.equals(METADATA)) {
                    if (!(e.getValue() instanceof Map<?, ?> m)) throw fail("__metadata__ must be an object of strings");
                    for (Map.Entry<?, ?> me : m.entrySet()) {
                        if (!(me.getValue() instanceof String s)) throw fail("__metadata__ value of '" + JsonCodec.excerpt(me.getKey()) + "' is not a string");
                        metadata.put((String) me.getKey(), s);
                    }
                } else {
                    entries.add(entry(name, e.getValue(), dataSize));
                }
            }
            checkOverlaps(entries);
            return new Header(entries, metadata, dataStart);
        }

        private Entry entry(String name, Object value, long dataSize) throws IOException {
            String quoted = JsonCodec.excerpt(name); // a hostile name can be megabytes long
            if (!(value instanceof Map<?, ?> m)) throw fail("tensor '" + quoted + "' must be described by a JSON object");
            if (!(m.get("dtype") instanceof String dt)) throw fail("tensor '" + quoted + "' has no dtype");
            ElementType dtype;
            try {
                dtype = ElementType.valueOf(dt);
            } catch (IllegalArgumentException ex) {
                throw fail("tensor '" + quoted + "' has unknown or unsupported dtype " + JsonCodec.excerpt(dt) + " (readable: "
                        + java.util.Arrays.toString(ElementType.values()) + ")");
            }
            if (!(m.get("shape") instanceof List<?> sl)) throw fail("tensor '" + quoted + "' has no shape list");
            int[] shape = new int[sl.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!(sl.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE) {
                    throw fail("tensor '" + quoted + "' has an invalid shape " + JsonCodec.excerpt(sl));
                }
                shape[i] = (int) (long) d;
                numel *= d; // both factors are below 2^31, so the product cannot overflow before this check
                if (numel > Integer.MAX_VALUE - 16) throw fail("tensor '" + quoted + "' of shape " + JsonCodec.excerpt(sl) + " is too large to read");
            }
            if (!(m.get("data_offsets") instanceof List<?> ol) || ol.size() != 2
                    || !(ol.get(0) instanceof Long begin) || !(ol.get(1) instanceof Long end)) {
                throw fail("tensor '" + quoted + "' needs data_offsets [begin, end]");
            }
            if (begin < 0 || end < begin || end > dataSize) {
                throw fail("tensor '" + quoted + "' has data_offsets [" + begin + ", " + end + "] outside the data area of "
                        + dataSize + " bytes" + (end > dataSize ? " (truncated file?)" : ""));
            }
            long expected = numel * dtype.bytes;
            if (end - begin != expected) {
                throw fail("tensor '" + quoted + "' of dtype " + dtype + " and shape " + JsonCodec.excerpt(sl) + " needs " + expected
                        + " bytes, but its data_offsets span " + (end - begin));
            }
            return new Entry(name, dtype, shape, begin, end);
        }

        private void checkOverlaps(List<Entry> entries) throws IOException {
            List<Entry> sorted = new ArrayList<>(entries);
            sorted.sort(Comparator.comparingLong(Entry::begin));
            for (int i = 1; i < sorted.size(); i++) {
                Entry a = sorted.get(i - 1), b = sorted.get(i);
                if (b.begin < a.end && b.begin != b.end) {
                    throw fail("tensors '" + JsonCodec.excerpt(a.name) + "' [" + a.begin + ", " + a.end + "] and '" + JsonCodec.excerpt(b.name) + "' ["
                            + b.begin + ", " + b.end + "] overlap");
                }
            }
        }

        HostTensor tensor(Entry e, long dataStart) throws IOException {
            int numel = (int) ((e.end - e.begin) / e.dtype.bytes);
            ByteBuffer b = readAt(dataStart + e.begin, (int) (e.end - e.begin)).order(ByteOrder.LITTLE_ENDIAN);
            return e.dtype.decode(b, numel, e.shape);
        }

        private ByteBuffer readAt(long position, int length) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining()) {
                int got = ch.read(b, position + b.position());
                if (got < 0) throw fail("truncated: ends before byte " + (position + length));
            }
            return b.flip();
        }

        private IOException fail(String what) {
            return new IOException(file + ": " + what);
        }
    }
}
