package org.densenet.engine.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * Writes a file so that a reader, or a crash, sees either the old file or the whole new one: the
 * contents go to a temporary file beside it, are forced to disk, and the temporary file is renamed
 * over the target; then the folder is synced so the rename itself is durable.
 */
public final class AtomicFile {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Writes the contents into an open channel. */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel channel) throws IOException;
    }

    private AtomicFile() {
    }

    public static void write(Path file, byte[] contents) throws IOException {
        write(file, ch -> writeFully(ch, ByteBuffer.wrap(contents)));
    }

    /** Creates missing parent folders; on failure the target is untouched and no temporary file is left. */
    public static void write(Path file, Body body) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = temporaryBeside(abs);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                body.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        // Some file systems cannot open a folder for syncing; the file's contents are already on
        // disk then, so there is nothing better to do.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException ignored) {
            // see above
        }
    }

    /**
     * A new empty file next to {@code file}. Unlike Files.createTempFile, whose files are readable by
     * their owner only, it gets the permissions any new file gets (the umask's), which the renamed
     * result keeps.
     */
    private static Path temporaryBeside(Path file) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path tmp = file.resolveSibling("." + file.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 9) throw e;
            }
        }
    }

    public static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
