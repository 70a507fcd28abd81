package org.densenet.kernels;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * What the committed fatbin was built from, as kernels/build-fatbin.sh records it: the nvcc
 * version and flags, the architectures with SASS and with PTX, the exported kernel names, the
 * fatbin's own SHA-256, and the SHA-256 of every CUDA source file (keyed by file name).
 */
public record KernelManifest(String nvccVersion, String nvccFlags, List<Integer> sassArchs, List<Integer> ptxArchs,
                             List<String> kernels, String fatbinSha256, Map<String, String> sourceSha256) {

    public KernelManifest {
        require(nvccVersion, "nvcc.version");
        require(nvccFlags, "nvcc.flags");
        require(fatbinSha256, "fatbin.sha256");
        if (sassArchs.isEmpty() && ptxArchs.isEmpty()) throw new IllegalArgumentException("kernel manifest lists no architecture");
        if (kernels.isEmpty()) throw new IllegalArgumentException("kernel manifest lists no kernel");
        if (sourceSha256.isEmpty()) throw new IllegalArgumentException("kernel manifest lists no source file");
        sassArchs = List.copyOf(sassArchs);
        ptxArchs = List.copyOf(ptxArchs);
        kernels = List.copyOf(kernels);
        sourceSha256 = Collections.unmodifiableMap(new TreeMap<>(sourceSha256));
    }

    static final String SOURCE_PREFIX = "source.";

    /** Reads the properties written by the build script; a missing or malformed key names itself. */
    public static KernelManifest parse(Properties p) {
        Map<String, String> sources = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith(SOURCE_PREFIX)) sources.put(key.substring(SOURCE_PREFIX.length()), p.getProperty(key).trim());
        }
        return new KernelManifest(p.getProperty("nvcc.version"), p.getProperty("nvcc.flags"),
                archs(p, "arch.sass"), archs(p, "arch.ptx"), names(p.getProperty("kernels", "")),
                p.getProperty("fatbin.sha256"), sources);
    }

    private static List<Integer> archs(Properties p, String key) {
        List<Integer> out = new ArrayList<>();
        for (String s : names(p.getProperty(key, ""))) {
            try {
                out.add(Integer.parseInt(s));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("kernel manifest key " + key + " has a non-numeric architecture '" + s + "'", e);
            }
        }
        return out;
    }

    private static List<String> names(String csv) {
        List<String> out = new ArrayList<>();
        for (String s : csv.split(",")) {
            if (!s.isBlank()) out.add(s.trim());
        }
        return out;
    }

    private static void require(String value, String key) {
        if (value == null || value.isBlank()) throw new IllegalArgumentException("kernel manifest has no " + key);
    }
}
