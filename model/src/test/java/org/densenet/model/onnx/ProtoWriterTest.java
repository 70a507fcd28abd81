package org.densenet.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The wire format against encodings worked out by hand from the protobuf encoding rules. */
class ProtoWriterTest {
    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

    @Test
    void varintsTakeSevenBitsPerByteLowFirst() {
        // field 1, wire type 0: tag 0x08; 150 = 0b1_0010110 -> 0x96 0x01 (the protobuf documentation's example)
        assertArrayEquals(bytes(0x08, 0x96, 0x01), new ProtoWriter().varint(1, 150).toByteArray());
        assertArrayEquals(bytes(0x08, 0x00), new ProtoWriter().varint(1, 0).toByteArray());
        // field 20: tag (20 << 3) | 0 = 160 -> 0xA0 0x01
        assertArrayEquals(bytes(0xA0, 0x01, 0x07), new ProtoWriter().varint(20, 7).toByteArray());
        // a negative int64 is its two's complement: ten bytes
        byte[] minusOne = new ProtoWriter().varint(1, -1).toByteArray();
        assertEquals(11, minusOne.length);
        assertEquals(0x01, minusOne[10]);
    }

    @Test
    void stringsAndMessagesArePrefixedWithTheirLength() {
        // field 2, wire type 2: tag 0x12; "testing" is 7 bytes
        assertArrayEquals(bytes(0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'), new ProtoWriter().string(2, "testing").toByteArray());
        // field 3 holding a message whose field 1 is 150 (the documentation's embedded-message example)
        assertArrayEquals(bytes(0x1A, 0x03, 0x08, 0x96, 0x01), new ProtoWriter().message(3, new ProtoWriter().varint(1, 150)).toByteArray());
        // UTF-8 length in bytes, not characters
        assertArrayEquals(bytes(0x0A, 0x02, 0xC3, 0xA9), new ProtoWriter().string(1, "\u00e9").toByteArray());
    }

    @Test
    void floatsAreFourLittleEndianBytes() {
        // field 2, wire type 5: tag 0x15; 1e-5f = 0x3727C5AC
        assertArrayEquals(bytes(0x15, 0xAC, 0xC5, 0x27, 0x37), new ProtoWriter().float32(2, 1e-5f).toByteArray());
    }

    @Test
    void fieldNumbersOutsideTheProtobufRangeAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ProtoWriter().varint(0, 1));
        assertThrows(IllegalArgumentException.class, () -> new ProtoWriter().varint(1 << 29, 1));
    }
}
