package org.densenet.engine.io;

import static org.densenet.engine.io.SafeTensorsTest.assertError;
import static org.densenet.engine.io.SafeTensorsTest.raw;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files made to break a reader: each must end in one short IOException naming the file. */
class SafeTensorsHostileHeaderTest {
    /** What a message may add to the file's name; the hostile parts below are 100,000 characters and more. */
    private static final int SHORT_MESSAGE = 300;

    @TempDir
    Path dir;

    @Test
    void headerNested200000LevelsDeepIsRefused() throws IOException {
        Path file = dir.resolve("deep.safetensors");
        Files.write(file, raw(-1, "{\"a\":" + "[".repeat(200_000) + "]".repeat(200_000) + "}", 0));
        assertShort(file, assertError(file, "header is JSON beyond this program's limits: Document nesting depth ("
                + (JsonCodec.MAX_DEPTH + 1) + ") exceeds"));
    }

    @Test
    void headerWithA100000DigitNumberIsRefusedWithoutQuotingIt() throws IOException {
        Path file = dir.resolve("digits.safetensors");
        Files.write(file, raw(-1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[" + "9".repeat(100_000) + "],\"data_offsets\":[0,4]}}", 4));
        IOException e = assertError(file, "Number value length");
        assertShort(file, e);
        assertFalse(e.getMessage().contains("9".repeat(JsonCodec.QUOTED_CHARS + 1)), e.getMessage());
    }

    @Test
    void headerLengthAbove100MBIsRefusedBeforeTheHeaderIsRead() throws IOException {
        // a sparse file long enough to hold the claimed header, so only the cap can refuse it
        Path file = dir.resolve("huge-header.safetensors");
        long n = SafeTensors.MAX_HEADER + 1;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n));
            ch.write(ByteBuffer.wrap("{}".getBytes()), 8 + n);
        }
        assertEquals(8 + n + 2, Files.size(file));
        assertShort(file, assertError(file, "header length 100000001 is above the format's limit of 100000000 bytes"));
    }

    @Test
    void headerLengthWithTheTopBitSetIsReadAsUnsignedAndRefused() throws IOException {
        Path file = dir.resolve("negative.safetensors");
        byte[] bytes = raw(-1, "{}", 0);
        Arrays.fill(bytes, 0, 8, (byte) 0xff);
        Files.write(file, bytes);
        assertError(file, "header length 18446744073709551615 is above the format's limit");
    }

    @Test
    void headerThatIsNotJsonIsRefused() throws IOException {
        Path file = dir.resolve("text.safetensors");
        Files.write(file, raw(-1, "tensor a: F32 [2]" + " padding".repeat(20_000), 8));
        IOException e = assertError(file, "header is not valid JSON: Unrecognized token 'tensor'");
        assertShort(file, e);
    }

    @Test
    void headerThatIsJsonButNotAnObjectIsRefused() throws IOException {
        Path file = dir.resolve("list.safetensors");
        Files.write(file, raw(-1, "[1, 2, 3]", 0));
        assertError(file, "header must be a JSON object");
    }

    @Test
    void aLongTensorNameIsQuotedOnlyInPart() throws IOException {
        Path file = dir.resolve("long-name.safetensors");
        String name = "w".repeat(40_000);
        Files.write(file, raw(-1, "{\"" + name + "\":{\"dtype\":\"C64\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2));
        IOException e = assertError(file, "(40000 characters)' has unknown or unsupported dtype C64");
        assertShort(file, e);
    }

    private static void assertShort(Path file, IOException e) {
        String m = e.getMessage();
        assertFalse(m.contains("\n"), m);
        assertTrue(m.length() < file.toString().length() + SHORT_MESSAGE, m.length() + " characters: " + m);
    }
}
