package org.densenet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.densenet.cli.bench.RunInfo;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class BuildInfoTest {

    @Test
    void parseReadsTheVersionAndCommitTheBuildWrote() throws IOException {
        BuildInfo b = BuildInfo.parse(new StringReader("version=0.1.0-SNAPSHOT\ncommit=3980aad+dirty\n"));
        assertEquals(new BuildInfo("0.1.0-SNAPSHOT", "3980aad+dirty"), b);
    }

    @Test
    void commitMissingBlankOrLeftUnfilteredReadsUnknown() throws IOException {
        for (String text : new String[] {"version=1\n", "version=1\ncommit=\n", "version=1\ncommit=   \n",
                "version=1\ncommit=${densenet.commit}\n"}) {
            assertEquals(BuildInfo.UNKNOWN, BuildInfo.parse(new StringReader(text)).commit(), text);
        }
        assertEquals(BuildInfo.UNKNOWN, BuildInfo.parse(new StringReader("commit=abc1234\n")).version());
    }

    /** The build filtered this checkout's HEAD into version.properties, and bench headers report it. */
    @Test
    void benchHeadersReportTheCommitThisCheckoutWasBuiltFrom() throws IOException, InterruptedException {
        String head = gitHead();
        String built = BuildInfo.ofThisJar().commit();
        assertEquals(head, built.replaceFirst("\\+dirty$", ""),
                "version.properties says " + built + ", HEAD is " + head + " (a commit since the last build? run the build again)");
        assertEquals(built, RunInfo.collect("none", Map.of()).commit());
    }

    private static String gitHead() throws IOException, InterruptedException {
        Path root = Path.of("").toAbsolutePath().getParent();  // surefire runs in cli/
        Assumptions.assumeTrue(Files.exists(root.resolve(".git")), root + " is not a git checkout");
        Process p;
        try {
            p = new ProcessBuilder("git", "rev-parse", "--short", "HEAD").directory(root.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            return Assumptions.abort("no git to compare with: " + e.getMessage());
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        Assumptions.assumeTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "git rev-parse failed in " + root);
        return out;
    }
}
