package org.densenet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TfEventWriterTest {
    @Test
    void crc32cIsTheCastagnoliCheckValueAndMaskingMatchesTensorFlow() {
        CRC32C c = new CRC32C();
        c.update("123456789".getBytes(StandardCharsets.US_ASCII));
        assertEquals(0xE3069283L, c.getValue());
        int crc = 0xE3069283;
        assertEquals(((crc >>> 15) | (crc << 17)) + 0xa282ead8, TfEventWriter.maskedCrc("123456789".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void writersOpenedOneAfterAnotherInOneFolderByOneProcessKeepFilesOfTheirOwn(@TempDir Path dir) throws IOException {
        Path first, second;
        try (TfEventWriter a = new TfEventWriter(dir); TfEventWriter b = new TfEventWriter(dir)) {
            first = a.file();
            second = b.file();
        }
        assertNotEquals(first, second);
        assertTrue(first.getFileName().toString().contains("tfevents") && second.getFileName().toString().contains("tfevents"),
                "TensorBoard reads only files whose names hold tfevents: " + second);
        assertTrue(Files.size(first) > 0 && Files.size(second) > 0);
    }

    @Test
    void recordsHaveValidFramingAndCarryTheScalars(@TempDir Path dir) throws IOException {
        Path file;
        try (TfEventWriter w = new TfEventWriter(dir)) {
            w.scalar("val/top1", 3, 91.25);
            w.scalar("train/loss", 4, 0.5);
            file = w.file();
        }
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> records = new ArrayList<>();
        while (b.hasRemaining()) {
            byte[] len = new byte[8];
            b.get(len);
            assertEquals(TfEventWriter.maskedCrc(len), b.getInt(), "length CRC");
            byte[] data = new byte[(int) ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong()];
            b.get(data);
            assertEquals(TfEventWriter.maskedCrc(data), b.getInt(), "data CRC");
            records.add(data);
        }
        assertEquals(3, records.size());
        assertEquals("brain.Event:2", new String(records.get(0), 11, 13, StandardCharsets.UTF_8));
        // Event: wall_time (9 bytes), step (0x10, varint 3), summary (0x2a, len, Value(0x0a, len, tag(0x0a..), value(0x15, float)))
        ByteBuffer ev = ByteBuffer.wrap(records.get(1)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x09, ev.get(0));
        assertEquals(0x10, ev.get(9));
        assertEquals(3, ev.get(10));
        assertEquals(0x2a, ev.get(11));
        assertEquals(0x0a, ev.get(13));
        assertEquals(0x0a, ev.get(15));
        assertEquals("val/top1", new String(records.get(1), 17, 8, StandardCharsets.UTF_8));
        assertEquals(0x15, ev.get(25));
        assertEquals(91.25f, ev.getFloat(26));
    }
}
