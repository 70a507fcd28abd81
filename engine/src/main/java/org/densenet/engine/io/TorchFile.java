package org.densenet.engine.io;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import net.razorvine.pickle.IObjectConstructor;
import org.densenet.engine.io.TorchUnpickler.Storage;
import org.densenet.engine.io.TorchUnpickler.TensorRef;

/**
 * Reads what {@code torch.save} wrote, in both of its formats, without running any of it: the zip
 * format (PyTorch 1.6 and later: {@code <name>/data.pkl}, whose persistent ids name the entries
 * {@code <name>/data/<key>}, each one storage's raw bytes) and the legacy format (torchvision's
 * published weights: a magic number, a protocol version and system information, each a pickle,
 * then the main pickle, a pickled list of storage keys, and each storage as an 8-byte element count
 * followed by its little-endian elements). Pickles go through {@link TorchUnpickler}, which refuses
 * every global a state dict does not need.
 */
public final class TorchFile {
    /** torch/serialization.py's MAGIC_NUMBER, the legacy format's first pickle. */
    private static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    private static final int LEGACY_PROTOCOL = 1001;
    /** Deeper than any checkpoint; a self-referencing pickle ends here instead of overflowing the stack. */
    private static final int MAX_DEPTH = 64;

    private TorchFile() {
    }

    /**
     * The object a file holds, with Python's types as Java's: dicts as insertion-ordered {@code Map}s,
     * lists and tuples as {@code List}s, tensors and parameters as {@link HostTensor}s (contiguous
     * copies; 16-bit floats widened to F32, small integers and booleans to I32), strings, {@code Integer},
     * {@code Long} or {@code BigInteger}, {@code Double}, {@code Boolean}, {@code null} and {@code byte[]}.
     * Every problem is an IOException whose message starts with the file.
     */
    public static Object load(Path file) throws IOException {
        TensorFileFormat format = TensorFileFormat.of(file);
        try {
            return switch (format) {
                case TORCH_ZIP -> readZip(file);
                case TORCH_LEGACY -> readLegacy(file);
                case SAFETENSORS -> throw fail(file, "a safetensors file, not a PyTorch file");
            };
        } catch (ArithmeticException | IndexOutOfBoundsException | IllegalArgumentException e) {
            // sizes, offsets and strides come from the file; ones that overflow or point outside it end here
            throw fail(file, "damaged: sizes or offsets that do not fit the file (" + e.getMessage() + ")");
        }
    }

    private static Object readZip(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String prefix = null;
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                String name = en.nextElement().getName();
                int slash = name.indexOf('/');
                if (name.endsWith("/data.pkl") && slash == name.length() - "/data.pkl".length()) prefix = name.substring(0, slash + 1);
            }
            if (prefix == null) throw fail(file, "a zip file without data.pkl, so not one torch.save wrote");
            if (zip.getEntry(prefix + "constants.pkl") != null) {
                throw fail(file, "a TorchScript archive (torch.jit.save), not a state dict; load it in PyTorch and torch.save its state_dict()");
            }
            ZipEntry order = zip.getEntry(prefix + "byteorder");
            // files from before PyTorch 1.13 have no byteorder record and are little-endian
            ByteOrder byteOrder = order != null && new String(read(zip, order), StandardCharsets.US_ASCII).strip().equals("big")
                    ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            Map<String, Storage> storages = new LinkedHashMap<>();
            Object root = unpickle(file, new ByteArrayInputStream(read(zip, zip.getEntry(prefix + "data.pkl"))), storages);
            Map<String, ByteBuffer> data = new HashMap<>();
            for (Storage s : storages.values()) {
                String name = prefix + "data/" + s.key();
                ZipEntry e = zip.getEntry(name);
                if (e == null) throw fail(file, "the pickle names storage " + s.key() + ", but the archive has no " + name);
                byte[] bytes = read(zip, e);
                long need = Math.multiplyExact(s.rootNumel(), s.type().bytes);
                if (bytes.length != need) {
                    throw fail(file, name + " holds " + bytes.length + " bytes, but its " + s.rootNumel() + " " + s.type() + " elements need " + need);
                }
                data.put(s.key(), ByteBuffer.wrap(bytes).order(byteOrder));
            }
            return materialize(file, root, data, "", 0);
        } catch (ZipException e) {
            throw fail(file, "a zip file that is truncated or damaged (" + e.getMessage() + ")");
        }
    }

    private static byte[] read(ZipFile zip, ZipEntry e) throws IOException {
        if (e.getSize() > Integer.MAX_VALUE - 16) throw new ZipException(e.getName() + " is larger than 2 GB");
        try (InputStream in = zip.getInputStream(e)) {
            return in.readAllBytes();
        }
    }

    private static Object readLegacy(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) throw fail(file, "a legacy-format PyTorch file larger than 2 GB, which this reader does not handle");
            ByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, size).order(ByteOrder.LITTLE_ENDIAN);
            InputStream in = new BufferInput(buf);
            Map<String, Storage> none = new HashMap<>();
            if (!MAGIC.equals(unpickle(file, in, none))) {
                throw fail(file, "a pickle, but not one torch.save wrote (it does not start with PyTorch's magic number)");
            }
            Object protocol = unpickle(file, in, none);
            if (!Integer.valueOf(LEGACY_PROTOCOL).equals(protocol)) {
                throw fail(file, "legacy format version " + protocol + ", but only " + LEGACY_PROTOCOL + " is known");
            }
            unpickle(file, in, none); // system information: byte order and C type sizes, which the data below does not depend on
            Map<String, Storage> storages = new LinkedHashMap<>();
            Object root = unpickle(file, in, storages);
            if (!(unpickle(file, in, none) instanceof List<?> keys)) throw fail(file, "the list of storage keys after the pickle is missing");
            // each storage: its element count (int64), then its elements, always little-endian
            Map<String, ByteBuffer> data = new HashMap<>();
            long pos = buf.position();
            for (Object k : keys) {
                Storage s = storages.get(String.valueOf(k));
                if (s == null) throw fail(file, "storage " + k + " follows the pickle, but no tensor names it");
                if (pos + 8 > size) throw truncated(file, "storage " + k + "'s element count", pos + 8, size);
                long numel = buf.getLong((int) pos);
                if (numel < 0 || numel > size) throw fail(file, "storage " + k + " claims " + numel + " elements in a file of " + size + " bytes");
                if (numel != s.rootNumel()) {
                    throw fail(file, "storage " + k + " has " + numel + " elements, but the pickle says " + s.rootNumel());
                }
                long end = pos + 8 + numel * s.type().bytes;
                if (end > size) throw truncated(file, "storage " + k, end, size);
                data.put(s.key(), buf.slice((int) pos + 8, (int) (end - pos - 8)).order(ByteOrder.LITTLE_ENDIAN));
                pos = end;
            }
            for (String key : storages.keySet()) {
                if (!data.containsKey(key)) throw fail(file, "the pickle names storage " + key + ", but the file does not hold it");
            }
            return materialize(file, root, data, "", 0);
        }
    }

    private static Object unpickle(Path file, InputStream in, Map<String, Storage> storages) throws IOException {
        try {
            return new TorchUnpickler(storages).load(in);
        } catch (TorchUnpickler.Refused e) {
            throw fail(file, e.getMessage());
        } catch (IOException e) {
            throw fail(file, "truncated: the file ends inside a pickle (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            throw fail(file, "a damaged pickle or one torch.save did not write (" + (e.getMessage() != null ? e.getMessage() : e.toString()) + ")");
        }
    }

    /** Replaces every tensor reference in the unpickled tree by its data, and tuples by lists. */
    private static Object materialize(Path file, Object o, Map<String, ByteBuffer> data, String path, int depth) throws IOException {
        if (depth > MAX_DEPTH) throw fail(file, "objects nested deeper than " + MAX_DEPTH + " levels at " + path);
        if (o instanceof TensorRef t) return tensor(file, path, t, data.get(t.storage().key()));
        if (o instanceof Storage s) return tensor(file, path, new TensorRef(s, 0, new int[]{Math.toIntExact(s.numel())}, new long[]{1}),
                data.get(s.key()));
        if (o instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.put(e.getKey(), materialize(file, e.getValue(), data, path.isEmpty() ? String.valueOf(e.getKey()) : path + "/" + e.getKey(), depth + 1));
            }
            return Collections.unmodifiableMap(out);
        }
        if (o instanceof List<?> || o instanceof Object[]) {
            List<?> in = o instanceof Object[] a ? java.util.Arrays.asList(a) : (List<?>) o;
            List<Object> out = new ArrayList<>(in.size());
            for (int i = 0; i < in.size(); i++) out.add(materialize(file, in.get(i), data, path + "[" + i + "]", depth + 1));
            return Collections.unmodifiableList(out);
        }
        if (o instanceof IObjectConstructor || o instanceof TorchUnpickler.StorageType) {
            throw fail(file, "holds a class or function itself at " + (path.isEmpty() ? "the top" : path) + ", not data");
        }
        return o;
    }

    /** Copies a (possibly strided) tensor out of its storage, as PyTorch's {@code .contiguous()} would. */
    private static HostTensor tensor(Path file, String path, TensorRef t, ByteBuffer storage) throws IOException {
        Storage s = t.storage();
        int eb = s.type().bytes;
        int[] size = t.size();
        long[] stride = t.stride();
        long numel = 1;
        for (int d : size) numel *= d;
        if (numel > Integer.MAX_VALUE / 8) throw fail(file, "tensor " + path + " of " + numel + " elements is too large to read");
        if (numel == 0) return s.type().decode(ByteBuffer.allocate(0), 0, size);
        long last = t.offset();
        for (int i = 0; i < size.length; i++) last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
        if (last >= s.numel() || Math.addExact(s.offset(), s.numel()) > s.rootNumel()) {
            throw fail(file, "tensor " + path + " reaches element " + last + " of a storage of " + s.numel() + " elements");
        }
        long first = s.offset() + t.offset();
        ByteBuffer contiguous;
        if (isContiguous(size, stride)) {
            contiguous = storage.slice((int) (first * eb), (int) (numel * eb));
        } else {
            byte[] out = new byte[(int) (numel * eb)];
            int[] idx = new int[size.length];
            long pos = first;
            for (int k = 0; k < numel; k++) {
                storage.get((int) (pos * eb), out, k * eb, eb);
                // odometer over the indices, last dimension fastest
                for (int d = size.length - 1; d >= 0; d--) {
                    if (++idx[d] < size[d]) {
                        pos += stride[d];
                        break;
                    }
                    pos -= (size[d] - 1) * stride[d];
                    idx[d] = 0;
                }
            }
            contiguous = ByteBuffer.wrap(out);
        }
        return s.type().decode(contiguous.order(storage.order()), (int) numel, size);
    }

    private static boolean isContiguous(int[] size, long[] stride) {
        long expected = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] != 1 && stride[i] != expected) return false;
            expected *= size[i];
        }
        return true;
    }

    private static IOException truncated(Path file, String what, long end, long size) {
        return fail(file, "truncated: " + what + " ends at byte " + end + ", but the file has " + size + " bytes");
    }

    private static IOException fail(Path file, String what) {
        return new IOException(file + ": " + what);
    }

    /** An InputStream over a buffer that knows how much is left (the unpickler checks lengths against it) and can rewind. */
    private static final class BufferInput extends InputStream {
        private final ByteBuffer b;
        private int mark;

        BufferInput(ByteBuffer b) {
            this.b = b;
        }

        @Override
        public int read() {
            return b.hasRemaining() ? b.get() & 0xff : -1;
        }

        @Override
        public int read(byte[] dst, int off, int len) {
            if (len == 0) return 0;
            if (!b.hasRemaining()) return -1;
            int n = Math.min(len, b.remaining());
            b.get(dst, off, n);
            return n;
        }

        @Override
        public int available() {
            return b.remaining();
        }

        @Override
        public boolean markSupported() {
            return true;
        }

        @Override
        public synchronized void mark(int limit) {
            mark = b.position();
        }

        @Override
        public synchronized void reset() {
            b.position(mark);
        }
    }
}
