package org.densenet.tests.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code org.densenet.cli.Main} in a child JVM (the JDK running the tests, the test class
 * path), as a user would from a terminal, and makes small CIFAR-format data sets.
 */
final class Cli {
    /** What a finished command left: exit status and its two output streams. */
    record Run(int exit, String out, String err) {
        String all() {
            return out + err;
        }
    }

    private Cli() {
    }

    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xss4m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "org.densenet.cli.Main"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    static Process start(Path workDir, Path stdout, Path stderr, String... args) throws IOException {
        return start(workDir, stdout, stderr, Map.of(), args);
    }

    /** {@link #start(Path, Path, Path, String...)} with these variables added to the environment. */
    static Process start(Path workDir, Path stdout, Path stderr, Map<String, String> env, String... args) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command(args)).directory(workDir.toFile())
                .redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    static Run run(Path workDir, String... args) throws IOException, InterruptedException {
        return run(workDir, Map.of(), args);
    }

    /** {@link #run(Path, String...)} with these variables added to the environment. */
    static Run run(Path workDir, Map<String, String> env, String... args) throws IOException, InterruptedException {
        Path o = Files.createTempFile(workDir, "out", ".txt"), e = Files.createTempFile(workDir, "err", ".txt");
        Process p = start(workDir, o, e, env, args);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("densenet " + String.join(" ", args) + " did not finish in 120 s");
        }
        return new Run(p.exitValue(), Files.readString(o), Files.readString(e));
    }

    /**
     * A CIFAR-10 binary folder: five training files of {@code perFile} records and a test file of
     * {@code test} records. Each class has its own brightness, so a tiny network learns something.
     */
    static Path cifar10(Path dir, int perFile, int test, long seed) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom r = new SplittableRandom(seed);
        for (int f = 1; f <= 6; f++) {
            Path file = dir.resolve(f <= 5 ? "data_batch_" + f + ".bin" : "test_batch.bin");
            try (OutputStream out = Files.newOutputStream(file)) {
                int n = f <= 5 ? perFile : test;
                byte[] rec = new byte[3073];
                for (int i = 0; i < n; i++) {
                    int label = r.nextInt(10);
                    rec[0] = (byte) label;
                    for (int j = 1; j < rec.length; j++) rec[j] = (byte) Math.min(255, label * 20 + r.nextInt(60));
                    out.write(rec);
                }
            }
        }
        return dir;
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
