package org.densenet.engine.cuda.ffm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The ordered list of places where the CUDA libraries are looked for. Two lists: one for the
 * driver (libcuda.so.1, which comes with the kernel module and never from a toolkit or a wheel)
 * and one for the toolkit libraries (cuDNN, cuBLAS), which may come from a CUDA install, a
 * system package or pip's {@code nvidia-*} wheels. Only folders that exist are listed; the
 * first place that holds a loadable copy wins.
 *
 * <p>Toolkit order: {@code DENSENET_CUDA_LIBS} (an explicit choice beats every default), the
 * loader path, {@code CUDA_HOME}/{@code CUDA_PATH}, {@code CUDNN_PATH}, {@code LD_LIBRARY_PATH},
 * the usual system folders, then {@code nvidia/<pkg>/lib} in every Python site-packages folder
 * that can be derived without running Python (virtualenv, conda, PYTHONPATH, the Pythons on
 * PATH, ~/.local, /usr/local/lib, /usr/lib, /opt/conda).
 *
 * <p>{@code root} stands for "/" so tests can build a fake file system in a temporary folder.
 */
public final class LibrarySearch {
    public static final String ENV_LIBS = "DENSENET_CUDA_LIBS";

    private final List<SearchPlace> places;
    private final List<String> missingFolders;
    private final String envVar;

    private LibrarySearch(List<SearchPlace> places, List<String> missingFolders, String envVar) {
        this.places = List.copyOf(places);
        this.missingFolders = List.copyOf(missingFolders);
        this.envVar = envVar;
    }

    public static LibrarySearch forDriver() {
        return forDriver(System.getenv(), Path.of("/"));
    }

    public static LibrarySearch forToolkit() {
        return forToolkit(System.getenv(), Path.of(System.getProperty("user.home", "/root")), Path.of("/"));
    }

    public static LibrarySearch forDriver(Map<String, String> env, Path root) {
        Builder b = new Builder();
        b.chosen(env.get(ENV_LIBS), ENV_LIBS);
        b.loader();
        b.pathList(env.get("LD_LIBRARY_PATH"), "LD_LIBRARY_PATH");
        for (String d : new String[] {"usr/local/nvidia/lib64", "usr/local/nvidia/lib", "usr/lib/x86_64-linux-gnu",
                "usr/lib64", "usr/lib/wsl/lib", "run/opengl-driver/lib"}) {
            b.dir(root.resolve(d), "driver folder");
        }
        // The toolkit's stub libcuda.so only answers "stub library" to every call; never load it.
        return new LibrarySearch(b.places.values().stream().filter(p -> p.isLoader() || !p.dir().toString().contains("/stubs")).toList(),
                b.missing, ENV_LIBS);
    }

    public static LibrarySearch forToolkit(Map<String, String> env, Path home, Path root) {
        Builder b = new Builder();
        b.chosen(env.get(ENV_LIBS), ENV_LIBS);
        b.loader();
        for (String var : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String v = env.get(var);
            if (v == null || v.isBlank()) continue;
            b.dir(Path.of(v, "lib64"), var);
            b.dir(Path.of(v, "lib"), var);
            b.dir(Path.of(v, "targets", "x86_64-linux", "lib"), var);
        }
        String cudnn = env.get("CUDNN_PATH");
        if (cudnn != null && !cudnn.isBlank()) {
            b.dir(Path.of(cudnn, "lib"), "CUDNN_PATH");
            b.dir(Path.of(cudnn, "lib64"), "CUDNN_PATH");
        }
        b.pathList(env.get("LD_LIBRARY_PATH"), "LD_LIBRARY_PATH");
        for (String d : new String[] {"usr/local/cuda/lib64", "usr/local/cuda/targets/x86_64-linux/lib",
                "usr/lib/x86_64-linux-gnu", "usr/lib64"}) {
            b.dir(root.resolve(d), "system folder");
        }
        for (Path site : sitePackages(env, home, root)) {
            for (Path lib : children(site.resolve("nvidia"), "")) {
                b.dir(lib.resolve("lib"), "pip wheel");
            }
        }
        return new LibrarySearch(new ArrayList<>(b.places.values()), b.missing, ENV_LIBS);
    }

    /**
     * A library of the host rather than of CUDA (libturbojpeg): the folders {@code envVar} lists, the
     * loader path, {@code LD_LIBRARY_PATH}, then {@code bundled} (folders a distribution ships the
     * library in, for servers that lack it), then the usual system folders. The system's copy comes
     * before the bundled one, so that security updates of the distribution's package apply.
     */
    public static LibrarySearch forHostLibrary(String envVar, Map<String, String> env, List<Path> bundled, Path root) {
        Builder b = new Builder();
        b.chosen(env.get(envVar), envVar);
        b.loader();
        b.pathList(env.get("LD_LIBRARY_PATH"), "LD_LIBRARY_PATH");
        for (Path d : bundled) b.dir(d, "bundled");
        for (String d : new String[] {"usr/lib/x86_64-linux-gnu", "usr/lib64", "usr/lib", "usr/local/lib", "usr/local/lib64"}) {
            b.dir(root.resolve(d), "system folder");
        }
        return new LibrarySearch(new ArrayList<>(b.places.values()), b.missing, envVar);
    }

    /** Python site-packages folders in the order a Python of this machine would most likely use them. */
    static List<Path> sitePackages(Map<String, String> env, Path home, Path root) {
        List<Path> prefixes = new ArrayList<>();
        for (String var : new String[] {"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String v = env.get(var);
            if (v != null && !v.isBlank()) prefixes.add(Path.of(v));
        }
        List<Path> sites = new ArrayList<>();
        String pythonPath = env.get("PYTHONPATH");
        if (pythonPath != null) {
            for (String p : pythonPath.split(":")) if (!p.isBlank()) sites.add(Path.of(p));
        }
        String path = env.get("PATH");
        if (path != null) {
            for (String p : path.split(":")) {
                if (p.isBlank()) continue;
                Path bin = Path.of(p);
                for (String exe : new String[] {"python3", "python"}) {
                    Path python = bin.resolve(exe);
                    if (!Files.exists(python)) continue;
                    // the folder's own prefix (a virtualenv's python3 is a link out of it), then the real interpreter's
                    Path parent = bin.toAbsolutePath().getParent();
                    if (parent != null) prefixes.add(parent);
                    try {
                        Path real = python.toRealPath().getParent();
                        if (real != null && real.getParent() != null) prefixes.add(real.getParent());
                    } catch (IOException ignored) {
                        // a dangling link: nothing to derive from it
                    }
                    break;
                }
            }
        }
        prefixes.add(home.resolve(".local"));
        prefixes.add(root.resolve("usr/local"));
        prefixes.add(root.resolve("opt/conda"));
        // self-contained Pythons under /opt, as images ship them: /opt/<name>/.venv or /opt/<name> itself
        for (Path opt : children(root.resolve("opt"), "")) {
            prefixes.add(opt.resolve(".venv"));
            prefixes.add(opt);
        }
        for (Path prefix : prefixes) {
            for (Path py : children(prefix.resolve("lib"), "python3")) {
                sites.add(py.resolve("site-packages"));
                sites.add(py.resolve("dist-packages"));
            }
        }
        sites.add(root.resolve("usr/lib/python3/dist-packages"));
        for (Path py : children(root.resolve("usr/lib"), "python3")) {
            sites.add(py.resolve("site-packages"));
            sites.add(py.resolve("dist-packages"));
        }
        return sites.stream().filter(Files::isDirectory).distinct().toList();
    }

    /** Sub-folders of dir whose names start with prefix, newest Python first (python3.12 before python3.9). */
    private static List<Path> children(Path dir, String prefix) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory)
                    .filter(p -> p.getFileName().toString().startsWith(prefix))
                    .sorted(Comparator.comparing((Path p) -> versionKey(p.getFileName().toString())).reversed()
                            .thenComparing(p -> p.getFileName().toString()))
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** "python3.12" -> 12, anything else -> -1, so that folder order does not depend on string order. */
    private static int versionKey(String name) {
        int dot = name.lastIndexOf('.');
        if (!name.startsWith("python3.") || dot < 0) return -1;
        try {
            return Integer.parseInt(name.substring(dot + 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public List<SearchPlace> places() {
        return places;
    }

    /** The variable that names folders to search first: what a user sets when the library is elsewhere. */
    public String envVar() {
        return envVar;
    }

    /**
     * "the loader path, /a (DENSENET_CUDA_LIBS), /usr/lib64 (system folder)", followed by the folders a
     * variable named that do not exist, since a mistyped DENSENET_CUDA_LIBS is the likeliest cause.
     */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        for (SearchPlace p : places) {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append(p.describe());
        }
        for (String m : missingFolders) sb.append("; ").append(m);
        return sb.toString();
    }

    private static final class Builder {
        final Map<String, SearchPlace> places = new LinkedHashMap<>();
        final List<String> missing = new ArrayList<>();

        void loader() {
            places.putIfAbsent("", SearchPlace.LOADER);
        }

        void pathList(String value, String origin) {
            if (value == null) return;
            for (String p : value.split(":")) {
                if (p.isBlank()) continue;
                dir(Path.of(p), origin);
            }
        }

        /** The folders of our own variable: one that does not exist is reported, since a typo there is the likeliest cause. */
        void chosen(String value, String var) {
            if (value == null) return;
            for (String p : value.split(":")) {
                if (!p.isBlank() && !Files.isDirectory(Path.of(p))) missing.add(var + " names " + p + ", which is not a folder");
            }
            pathList(value, var);
        }

        void dir(Path dir, String origin) {
            if (!Files.isDirectory(dir)) return;
            Path key = dir.toAbsolutePath().normalize();
            places.putIfAbsent(key.toString(), new SearchPlace(origin, key));
        }
    }
}
