package org.densenet.cli.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.densenet.cli.BuildInfo;
import org.densenet.engine.Backend;

/**
 * What a benchmark ran on, printed at the top of every run so a number can be traced: the
 * device and what the backend reports of its driver and libraries, the Java runtime, the host
 * processor and its load when the run began (a loaded machine gives slow numbers), the commit
 * and the date. The commit is the one the jar was built from ({@link BuildInfo}), not that of the
 * working directory, which on a machine that received only the jar is unrelated or stale; no git
 * is asked at run time, and classes not built by Maven report "unknown".
 */
public record RunInfo(String device, Map<String, String> versions, String java, String os, String cpu, int cores,
                      double loadAverage, String commit, String date) {

    public RunInfo {
        versions = Collections.unmodifiableMap(new LinkedHashMap<>(versions));  // in the backend's order
    }

    public static RunInfo collect(Backend backend) {
        return collect(backend.name(), backend.versions());
    }

    /** For a benchmark that runs on no backend: {@code device} says what it runs on instead. */
    public static RunInfo collect(String device, Map<String, String> versions) {
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return new RunInfo(device, versions,
                System.getProperty("java.vm.name") + " " + Runtime.version(),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                cpuModel(), Runtime.getRuntime().availableProcessors(), load, BuildInfo.ofThisJar().commit(),
                ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")));
    }

    /** Header lines for the text table, and as '# ' comments before CSV. */
    public List<String> lines() {
        StringBuilder v = new StringBuilder();
        for (Map.Entry<String, String> e : versions.entrySet()) v.append(v.isEmpty() ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue());
        return List.of(
                "device:  " + device + (v.isEmpty() ? "" : " (" + v + ")"),
                "host:    " + cpu + ", " + cores + " cores, load " + String.format(Locale.ROOT, "%.2f", loadAverage) + " at start; " + os,
                "java:    " + java,
                "commit:  " + commit + ", " + date);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("device", device);
        m.put("versions", new LinkedHashMap<>(versions));
        m.put("java", java);
        m.put("os", os);
        m.put("cpu", cpu);
        m.put("cores", cores);
        m.put("load_average", loadAverage >= 0 ? loadAverage : null);
        m.put("commit", commit);
        m.put("date", date);
        return m;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).strip();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: the architecture is what remains to say
        }
        return System.getProperty("os.arch");
    }
}
