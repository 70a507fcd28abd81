package org.densenet.train.data;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.function.IntBinaryOperator;
import org.densenet.train.data.ffm.TurboJpeg;

/**
 * JPEGs through libjpeg-turbo (the library PIL decodes with, so the pixels are PIL's), at the DCT
 * scaling the caller asks for. The file is read into native memory and decoded there to packed RGB
 * rows, which the resampler reads as they are ({@link PackedImage}). Each thread keeps its own TurboJPEG handle
 * and buffers. What is not a colour or grey JPEG (CMYK and YCCK JPEGs, PNGs named .JPEG) goes to
 * {@link ImageIoDecoder}, which handles those as PIL does.
 */
final class TurboDecoder implements ImageDecoder {
    private static final Cleaner CLEANER = Cleaner.create();
    /** libjpeg's warning for data that ends before the image does; PIL refuses such a file ("image file is truncated"). */
    private static final String TRUNCATED = "Premature end of JPEG file";

    private final TurboJpeg tj;
    private final ThreadLocal<Buffers> buffers;

    TurboDecoder(TurboJpeg tj) {
        this.tj = tj;
        this.buffers = ThreadLocal.withInitial(() -> new Buffers(tj));
    }

    @Override
    public String describe() {
        return "libjpeg-turbo from " + tj.where();
    }

    @Override
    public Decoded decode(Path file, IntBinaryOperator reduction, LoadTimes times) {
        Buffers b = buffers.get();
        if (times != null) times.start();
        long size = b.read(file);
        if (times != null) times.read();
        MemorySegment in = b.in;
        if (size < 4 || in.get(ValueLayout.JAVA_BYTE, 0) != (byte) 0xFF || in.get(ValueLayout.JAVA_BYTE, 1) != (byte) 0xD8) {
            return ImageIoDecoder.INSTANCE.decode(file, reduction, times);  // not a JPEG: a PNG named .JPEG, say
        }
        // A header cut short is only a warning to TurboJPEG, which then leaves the size unwritten: hence the zeros.
        b.header.fill((byte) 0);
        int rc = tj.header(b.handle, in, size, b.header);
        int w = b.header.getAtIndex(ValueLayout.JAVA_INT, 0), h = b.header.getAtIndex(ValueLayout.JAVA_INT, 1);
        int space = b.header.getAtIndex(ValueLayout.JAVA_INT, 3);
        if (rc != 0 || w < 1 || h < 1) throw DataException.at(file, "undecodable image (" + tj.lastError(b.handle) + ")");
        ImageDecoder.checkPixels(file, w, h);
        if (space == TurboJpeg.CS_CMYK || space == TurboJpeg.CS_YCCK) return ImageIoDecoder.INSTANCE.decode(file, reduction, times);
        int r = reduction.applyAsInt(w, h);
        int sw = (w + r - 1) / r, sh = (h + r - 1) / r, bytes = 3 * sw * sh;
        MemorySegment out = b.output(bytes);
        // Grey JPEGs too come out as RGB: libjpeg replicates the grey samples, as PIL's convert("RGB") does.
        if (tj.decompress(b.handle, in, size, out, sw, sh, TurboJpeg.PF_RGB) != 0) {
            String why = tj.lastError(b.handle);
            // Other warnings (extraneous bytes before a marker, say) leave a whole image, which PIL accepts too.
            if (!tj.lastWasWarning(b.handle) || why.contains(TRUNCATED)) {
                throw DataException.at(file, (why.contains(TRUNCATED) ? "truncated image (" : "undecodable image (") + why + ")");
            }
        }
        byte[] px = new byte[bytes];
        MemorySegment.copy(out, ValueLayout.JAVA_BYTE, 0, px, 0, bytes);
        if (times != null) times.decoded();
        return new Decoded(new PackedImage(3, sh, sw, px), w, h, r);
    }

    /** One thread's handle and buffers, grown as files need; the handle is destroyed when the thread's copy is collected. */
    private static final class Buffers {
        final MemorySegment handle;
        final MemorySegment header;
        MemorySegment in = MemorySegment.NULL, out = MemorySegment.NULL;

        Buffers(TurboJpeg tj) {
            handle = tj.newDecompressor();
            header = Arena.ofAuto().allocate(ValueLayout.JAVA_INT, 4);
            MemorySegment h = handle;
            CLEANER.register(this, () -> tj.destroy(h));
        }

        /** Reads the whole file into {@link #in}; its length. */
        long read(Path file) {
            try (FileChannel ch = FileChannel.open(file)) {
                long size = ch.size();
                if (size > Integer.MAX_VALUE) throw DataException.at(file, "image file of " + size + " bytes is too large");
                if (in.byteSize() < size) in = Arena.ofAuto().allocate(Math.max(size, 2 * in.byteSize()), 64);
                ByteBuffer bb = in.asSlice(0, size).asByteBuffer();
                while (bb.hasRemaining() && ch.read(bb) >= 0) {
                    // a file that shrinks while read ends the loop at its new end
                }
                return bb.position();
            } catch (java.nio.file.NoSuchFileException e) {
                throw DataException.at(file, "image file is missing");
            } catch (IOException e) {
                throw DataException.at(file, "cannot read (" + e.getMessage() + ")");
            }
        }

        MemorySegment output(long bytes) {
            if (out.byteSize() < bytes) out = Arena.ofAuto().allocate(Math.max(bytes, 2 * out.byteSize()), 64);
            return out;
        }
    }
}
