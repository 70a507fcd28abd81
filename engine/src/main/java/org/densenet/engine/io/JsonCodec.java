package org.densenet.engine.io;

import tools.jackson.core.ErrorReportConfiguration;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadConstraints;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.exc.StreamConstraintsException;
import tools.jackson.core.json.JsonFactory;
import tools.jackson.core.json.JsonWriteFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The project's one JSON mapper (Jackson), for safetensors headers, args.json and the JSON that
 * the commands print. Parsing yields {@code Map<String, Object>} (insertion-ordered),
 * {@code List<Object>}, {@code String}, {@code Long} (integers), {@code Double}, {@code Boolean}
 * and {@code null}; writing takes the same and prints one line.
 *
 * <p>A safetensors header comes from whoever made the file, so the limits are set for hostile
 * input: the files we read nest three or four levels and hold 64-bit numbers, while a header
 * nested 200,000 levels deep would exhaust the stack of a recursive reader and a 100,000-digit
 * number would be echoed whole into an error message.
 */
public final class JsonCodec {
    /** Real documents nest a handful of levels; this leaves room and keeps recursion shallow. */
    public static final int MAX_DEPTH = 100;
    /**
     * A 64-bit integer takes 20 characters and a double at most 24. Kept near a few dozen because
     * a number too large for a long is quoted whole in the message that refuses it.
     */
    public static final int MAX_NUMBER_CHARS = 50;
    /** Metadata strings can carry a whole config or a thumbnail, but not more than this. */
    public static final int MAX_STRING_CHARS = 16 << 20;
    /** How much of an offending token an error message may quote. */
    static final int QUOTED_CHARS = 40;

    private static final JsonMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_DEPTH)
                            .maxNumberLength(MAX_NUMBER_CHARS)
                            .maxStringLength(MAX_STRING_CHARS)
                            .build())
                    .errorReportConfiguration(ErrorReportConfiguration.builder()
                            .maxErrorTokenLength(QUOTED_CHARS)
                            .maxRawContentLength(QUOTED_CHARS)
                            .build())
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    // the text an error points into, cut to QUOTED_CHARS by the report configuration
                    .enable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
                    // paths are written as users type them, as before the switch to Jackson
                    .disable(JsonWriteFeature.ESCAPE_FORWARD_SLASHES)
                    .build())
            .enable(DeserializationFeature.USE_LONG_FOR_INTS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private JsonCodec() {
    }

    /**
     * Parses one JSON value that must span the whole text (surrounding whitespace allowed). A
     * malformed or over-limit text is an IllegalArgumentException with a one-line message that
     * quotes at most {@value #QUOTED_CHARS} characters of it.
     */
    public static Object parse(String text) {
        try {
            return MAPPER.readValue(text, Object.class);
        } catch (StreamConstraintsException e) {
            throw new IllegalArgumentException("JSON beyond this program's limits: " + describe(e));
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not valid JSON: " + describe(e));
        }
    }

    /** Writes maps, lists, strings, booleans, null and numbers on one line. */
    public static String write(Object value) {
        return MAPPER.writeValueAsString(value);
    }

    /** A value for an error message: whole when short, else its first {@value #QUOTED_CHARS} characters and its length. */
    public static String excerpt(Object value) {
        String s = String.valueOf(value);
        if (s.length() <= QUOTED_CHARS) return s;
        return s.substring(0, QUOTED_CHARS) + "... (" + s.length() + " characters)";
    }

    private static String describe(JacksonException e) {
        // the quoted source may hold line breaks; the message stays one line
        String what = e.getOriginalMessage().replaceAll("\\s*\\R\\s*", " ").strip();
        long at = e.getLocation() == null ? -1 : e.getLocation().getCharOffset();
        return at >= 0 ? what + " at character " + at : what;
    }
}
