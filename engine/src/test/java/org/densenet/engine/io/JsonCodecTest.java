package org.densenet.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonCodecTest {
    /** Long enough for what the tests feed in, far below the 100,000 characters of the hostile inputs. */
    private static final int SHORT_MESSAGE = 300;

    @Test
    void parsesIntegersAsLongsOtherNumbersAsDoublesAndKeepsKeyOrder() {
        Object v = JsonCodec.parse(" {\"z\": 1, \"a\": [2.5, \"x/y\", true, null, -12345678901234], \"m\": {}} ");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("z", "a", "m"), List.copyOf(m.keySet()));
        assertEquals(1L, m.get("z"));
        assertEquals(Arrays.asList(2.5, "x/y", true, null, -12345678901234L), m.get("a"));
        assertEquals(Map.of(), m.get("m"));
    }

    @Test
    void writesOneLineWithSlashesUnescapedAndParsesItBack() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("weights", "/tmp/run 1/best.safetensors");
        m.put("images", 10000);
        m.put("bytes", 1L << 40);
        m.put("top1", 0.25);
        m.put("text", "quote\"and\\slash\nline\u00e9");
        m.put("list", Arrays.asList(1, "x", null, false));
        String text = JsonCodec.write(m);
        assertEquals("{\"weights\":\"/tmp/run 1/best.safetensors\",\"images\":10000,\"bytes\":1099511627776,\"top1\":0.25,"
                + "\"text\":\"quote\\\"and\\\\slash\\nline\u00e9\",\"list\":[1,\"x\",null,false]}", text);
        Map<String, Object> back = new LinkedHashMap<>(m);
        back.put("images", 10000L);
        back.put("list", Arrays.asList(1L, "x", null, false));
        assertEquals(back, JsonCodec.parse(text));
    }

    @Test
    void nestingUpToTheLimitIsReadAndOneLevelMoreIsRefused() {
        int d = JsonCodec.MAX_DEPTH;
        Object v = JsonCodec.parse("[".repeat(d) + "]".repeat(d));
        for (int i = 1; i < d; i++) v = ((List<?>) v).getFirst();
        assertEquals(List.of(), v);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JsonCodec.parse("[".repeat(d + 1) + "]".repeat(d + 1)));
        assertTrue(e.getMessage().contains("nesting depth (" + (d + 1) + ")"), e.getMessage());
    }

    @Test
    void nesting200000LevelsDeepIsRefusedWithAShortMessageNotAStackOverflow() {
        String deep = "{\"a\":" + "[".repeat(200_000) + "]".repeat(200_000) + "}";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonCodec.parse(deep));
        assertTrue(e.getMessage().startsWith("JSON beyond this program's limits: "), e.getMessage());
        assertTrue(e.getMessage().contains("nesting depth"), e.getMessage());
        assertTrue(e.getMessage().length() < SHORT_MESSAGE, e.getMessage());
    }

    @Test
    void a100000DigitNumberIsRefusedWithoutBeingQuoted() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JsonCodec.parse("{\"a\":" + "9".repeat(100_000) + "}"));
        assertTrue(e.getMessage().contains("Number value length"), e.getMessage());
        assertTrue(e.getMessage().length() < SHORT_MESSAGE, e.getMessage());
        assertFalse(e.getMessage().contains("9".repeat(JsonCodec.QUOTED_CHARS + 1)), e.getMessage());
    }

    @Test
    void aLongBadTokenIsQuotedOnlyInPart() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JsonCodec.parse("nonsense" + "x".repeat(100_000)));
        assertTrue(e.getMessage().startsWith("not valid JSON: "), e.getMessage());
        assertTrue(e.getMessage().contains("'nonsense"), e.getMessage());
        assertFalse(e.getMessage().contains("x".repeat(JsonCodec.QUOTED_CHARS)), e.getMessage());
        assertTrue(e.getMessage().length() < SHORT_MESSAGE, e.getMessage());
    }

    @Test
    void messagesStayOnOneLineAndSayWhere() {
        String text = "{\n\"a\":\n[1, 2";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JsonCodec.parse(text));
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().endsWith("at character " + text.length()), e.getMessage());
    }

    @Test
    void duplicateKeysTrailingTextAndIntegersBeyondLongAreRefused() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JsonCodec.parse("{\"a\":1,\"a\":2}"))
                .getMessage().contains("Duplicate"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JsonCodec.parse("{\"a\":1} {}"))
                .getMessage().contains("Trailing token"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JsonCodec.parse("[99999999999999999999]"))
                .getMessage().contains("out of range of `long`"));
    }

    @Test
    void excerptKeepsShortValuesAndCutsLongOnes() {
        assertEquals("[1, 2]", JsonCodec.excerpt(List.of(1, 2)));
        String cut = JsonCodec.excerpt("n".repeat(1_000_000));
        assertEquals("n".repeat(JsonCodec.QUOTED_CHARS) + "... (1000000 characters)", cut);
    }
}
