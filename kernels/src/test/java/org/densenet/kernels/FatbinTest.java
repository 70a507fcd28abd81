package org.densenet.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fatbin reader on hand-made containers, so its layout rules are checked apart from nvcc's output. */
class FatbinTest {

    /** A container with one entry per (kind, arch, payload). */
    static byte[] container(int[] kinds, int[] archs, String[] payloads) {
        int total = 0;
        for (String p : payloads) total += 64 + p.length();
        ByteBuffer b = ByteBuffer.allocate(16 + total).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(Fatbin.MAGIC).putShort((short) 1).putShort((short) 16).putLong(total);
        for (int i = 0; i < payloads.length; i++) {
            int start = b.position();
            b.putShort((short) kinds[i]).putShort((short) 0x101).putInt(64).putLong(payloads[i].length());
            b.putInt(0).putInt(0).putShort((short) 0).putShort((short) 1).putInt(archs[i]);
            b.position(start + 40);
            b.putLong(0x11);
            b.position(start + 64);
            b.put(payloads[i].getBytes(StandardCharsets.US_ASCII));
        }
        return b.array();
    }

    @Test
    void readsKindsArchitecturesAndEntryNames() {
        byte[] img = container(new int[] {2, 1}, new int[] {90, 120},
                new String[] {"ELF....text.relu_f32\0.text.fill_f32\0", ".visible .entry relu_f32(\n"});
        Fatbin f = Fatbin.parse(img);
        assertEquals(List.of(90), f.archs(Fatbin.Kind.ELF));
        assertEquals(List.of(120), f.archs(Fatbin.Kind.PTX));
        assertTrue(Fatbin.defines(img, f.entries().get(0), "fill_f32"));
        assertTrue(Fatbin.defines(img, f.entries().get(1), "relu_f32"));
        assertFalse(Fatbin.defines(img, f.entries().get(1), "fill_f32"));
        // a name that is only a prefix of a defined one is not defined
        assertFalse(Fatbin.defines(img, f.entries().get(0), "relu"));
    }

    @Test
    void rejectsWhatIsNotAFatbin() {
        assertThrows(IllegalArgumentException.class, () -> Fatbin.parse("\u007fELF and more bytes".getBytes(StandardCharsets.US_ASCII)));
        byte[] img = container(new int[] {2}, new int[] {90}, new String[] {"payload"});
        byte[] truncated = java.util.Arrays.copyOf(img, img.length - 3);
        assertThrows(IllegalArgumentException.class, () -> Fatbin.parse(truncated));
        byte[] badKind = img.clone();
        badKind[16] = 7;
        assertThrows(IllegalArgumentException.class, () -> Fatbin.parse(badKind));
    }
}
