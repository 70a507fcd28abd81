package org.densenet.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * What the build baked into the jar: its version and the commit it was built from, short hash with
 * "+dirty" when tracked files had uncommitted changes (version.properties, filtered by the Maven
 * build; cli/pom.xml asks git). The commit is that of the build, not of the directory the jar runs
 * in, so a jar copied to another machine still names its sources. "unknown" where the build had no
 * git checkout, or for classes Maven did not build (an IDE's own compile leaves the file unfiltered).
 */
public record BuildInfo(String version, String commit) {

    public static final String UNKNOWN = "unknown";

    public BuildInfo {
        if (version == null || version.isBlank() || commit == null || commit.isBlank()) {
            throw new IllegalArgumentException("version and commit must be given (\"" + UNKNOWN + "\" when not known)");
        }
    }

    public static BuildInfo ofThisJar() {
        try (InputStream in = BuildInfo.class.getResourceAsStream("version.properties")) {
            return in == null ? new BuildInfo(UNKNOWN, UNKNOWN) : parse(new InputStreamReader(in, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the jar's org/densenet/cli/version.properties", e);
        }
    }

    /** Reads version.properties text; a key that is missing, blank or left unfiltered reads "unknown". */
    static BuildInfo parse(Reader text) throws IOException {
        Properties p = new Properties();
        p.load(text);
        return new BuildInfo(value(p, "version"), value(p, "commit"));
    }

    private static String value(Properties p, String key) {
        String v = p.getProperty(key, "").strip();
        return v.isEmpty() || v.startsWith("${") ? UNKNOWN : v;
    }
}
