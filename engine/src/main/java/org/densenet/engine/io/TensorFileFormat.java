package org.densenet.engine.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;

/**
 * The formats a weights file may be in, told apart by the first bytes, never by the name: users
 * rename files freely ({@code .pth}, {@code .pt}, {@code .pth.tar}, {@code .bin}, {@code .ckpt}).
 */
public enum TensorFileFormat {
    /** An 8-byte little-endian header length, then a JSON object. */
    SAFETENSORS,
    /** torch.save since PyTorch 1.6: a zip archive holding {@code data.pkl} and one entry per storage. */
    TORCH_ZIP,
    /** torch.save before 1.6 or with {@code _use_new_zipfile_serialization=False}: pickles, then raw storages. */
    TORCH_LEGACY;

    /** The reference safetensors implementation's limit on the JSON header. */
    private static final long MAX_SAFETENSORS_HEADER = 100L << 20;

    /** The format of {@code file}, or an IOException naming the file and saying what it looks like instead. */
    public static TensorFileFormat of(Path file) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (head.hasRemaining() && ch.read(head) >= 0) {
                // a short file stops the loop through read's -1
            }
        }
        head.flip();
        int n = head.limit();
        // first, because a header length such as 0x380 starts with the byte a pickle starts with
        if (n >= 9 && head.getLong(0) >= 2 && head.getLong(0) <= MAX_SAFETENSORS_HEADER && head.get(8) == '{') return SAFETENSORS;
        if (n >= 4 && head.get(0) == 'P' && head.get(1) == 'K' && (head.get(2) == 3 || head.get(2) == 5)) return TORCH_ZIP;
        // torch.save's legacy format is pickles from the first byte: PROTO 2 or later
        if (n >= 2 && (head.get(0) & 0xff) == 0x80 && head.get(1) >= 2) return TORCH_LEGACY;
        throw new IOException(file + ": not a safetensors file or a PyTorch file (" + lookalike(head) + ")");
    }

    private static String lookalike(ByteBuffer head) {
        int n = head.limit();
        if (n == 0) return "it is empty";
        if (n >= 2 && (head.get(0) & 0xff) == 0x1f && (head.get(1) & 0xff) == 0x8b) return "it is gzip-compressed; decompress it first";
        if (n >= 4 && (head.get(0) & 0xff) == 0x89 && head.get(1) == 'H' && head.get(2) == 'D' && head.get(3) == 'F') {
            return "it is an HDF5 file, as Keras writes";
        }
        byte[] first = new byte[n];
        head.get(0, first);
        return "it starts with the bytes " + HexFormat.ofDelimiter(" ").formatHex(first);
    }
}
