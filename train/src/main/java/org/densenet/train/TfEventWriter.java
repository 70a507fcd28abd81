package org.densenet.train;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Writes TensorBoard scalar event files without TensorFlow: a TFRecord stream (length, masked
 * CRC32C of the length, payload, masked CRC32C of the payload) of protobuf-encoded
 * {@code Event} messages. Only the fields TensorBoard needs for scalars are written:
 * Event{wall_time=1 (double), step=2 (int64), file_version=3 (string), summary=5},
 * Summary{value=1}, Summary.Value{tag=1 (string), simple_value=2 (float)}.
 */
public final class TfEventWriter implements AutoCloseable {
    private final OutputStream out;
    private final Path file;

    public TfEventWriter(Path folder) throws IOException {
        String host = hostName();
        long now = System.currentTimeMillis();
        String name = "events.out.tfevents." + now / 1000 + "." + host + "." + ProcessHandle.current().pid();
        // A run resumed by the same process within the same second (a test, a notebook) would take the
        // stopped run's name; TensorBoard reads every file whose name holds "tfevents", so a suffix keeps both.
        Path f = folder.resolve(name);
        OutputStream o = null;
        for (int i = 1; o == null; i++) {
            try {
                o = Files.newOutputStream(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (i > 100) throw e;
                f = folder.resolve(name + "." + i);
            }
        }
        this.file = f;
        this.out = o;
        ByteArrayOutputStream ev = new ByteArrayOutputStream();
        writeDouble(ev, 1, now / 1000.0);
        writeBytes(ev, 3, "brain.Event:2".getBytes(StandardCharsets.UTF_8));
        record(ev.toByteArray());
    }

    public Path file() {
        return file;
    }

    /** One scalar at a step; flushed so a running TensorBoard sees it. */
    public void scalar(String tag, long step, double value) throws IOException {
        ByteArrayOutputStream v = new ByteArrayOutputStream();
        writeBytes(v, 1, tag.getBytes(StandardCharsets.UTF_8));
        writeFloat(v, 2, (float) value);
        ByteArrayOutputStream summary = new ByteArrayOutputStream();
        writeBytes(summary, 1, v.toByteArray());
        ByteArrayOutputStream ev = new ByteArrayOutputStream();
        writeDouble(ev, 1, System.currentTimeMillis() / 1000.0);
        writeVarintField(ev, 2, step);
        writeBytes(ev, 5, summary.toByteArray());
        record(ev.toByteArray());
        out.flush();
    }

    private void record(byte[] data) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length);
        ByteBuffer head = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        head.put(len.array()).putInt(maskedCrc(len.array()));
        out.write(head.array());
        out.write(data);
        out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(maskedCrc(data)).array());
    }

    /** TFRecord's CRC: CRC32C rotated right by 15 bits plus a constant. */
    static int maskedCrc(byte[] data) {
        CRC32C crc = new CRC32C();
        crc.update(data);
        int c = (int) crc.getValue();
        return ((c >>> 15) | (c << 17)) + 0xa282ead8;
    }

    private static void writeTag(ByteArrayOutputStream o, int field, int wireType) {
        writeVarint(o, ((long) field << 3) | wireType);
    }

    private static void writeVarint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
    }

    private static void writeVarintField(ByteArrayOutputStream o, int field, long v) {
        writeTag(o, field, 0);
        writeVarint(o, v);
    }

    private static void writeDouble(ByteArrayOutputStream o, int field, double v) {
        writeTag(o, field, 1);
        o.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(v).array());
    }

    private static void writeFloat(ByteArrayOutputStream o, int field, float v) {
        writeTag(o, field, 5);
        o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
    }

    private static void writeBytes(ByteArrayOutputStream o, int field, byte[] b) {
        writeTag(o, field, 2);
        writeVarint(o, b.length);
        o.writeBytes(b);
    }

    private static String hostName() {
        String h = System.getenv("HOSTNAME");
        if (h == null || h.isBlank()) {
            try {
                h = java.net.InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                h = "localhost";
            }
        }
        return h.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
