package org.densenet.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileTest {
    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path f = dir.resolve("model.onnx");
        AtomicFile.write(f, new byte[] {1, 2, 3});
        IOException e = assertThrows(IOException.class, () -> AtomicFile.write(f, ch -> {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {9, 9}));
            throw new IOException("disk full");
        }));
        assertEquals("disk full", e.getMessage());
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(f));
        assertEquals(List.of("model.onnx"), names());
    }

    @Test
    void theFileGetsTheUsualPermissionsAndMissingFoldersAreMade() throws IOException {
        Path f = dir.resolve("a/b/weights.safetensors");
        AtomicFile.write(f, new byte[] {4});
        Path plain = Files.createFile(dir.resolve("plain"));
        // as any new file (the umask's), not Files.createTempFile's owner-only rw-------
        assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)),
                PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        assertArrayEquals(new byte[] {4}, Files.readAllBytes(f));
    }
}
