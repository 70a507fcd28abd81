package org.densenet.engine.cuda.ffm;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads the first loadable copy of a library from a {@link LibrarySearch}. A library found in a
 * folder (rather than through the loader path) has its companions from the same folder loaded
 * first, by absolute path: libcublasLt before libcublas, cuDNN's sub-libraries before its shim.
 * Once loaded, glibc matches later requests for those sonames to these copies, so a library whose
 * folder is on no search path still finds its siblings.
 */
public final class LibraryLoader {
    private LibraryLoader() {
    }

    /** A file name to look for, and the files of its folder that must be loaded before it (when present). */
    public record Candidate(String file, List<String> sameFolderFirst) {
        public Candidate {
            if (file == null || file.isBlank() || file.contains("/")) throw new IllegalArgumentException("a candidate is a bare file name, got " + file);
            sameFolderFirst = List.copyOf(sameFolderFirst);
        }

        public static Candidate of(String file, String... sameFolderFirst) {
            return new Candidate(file, List.of(sameFolderFirst));
        }
    }

    /** One place to try: the loader path (path null) or an existing file. */
    public record Attempt(Candidate candidate, SearchPlace place, Path path) {
        public String target() {
            return path == null ? candidate.file() : path.toString();
        }
    }

    /** What was loaded and from where. */
    public record Loaded(NativeLibrary library, Attempt from) {
        /** "/usr/lib/x86_64-linux-gnu/libcudnn.so.9" or "libcudnn.so.9 (loader path)". */
        public String where() {
            return from.path() == null ? from.candidate().file() + " (loader path)" : from.path().toString();
        }
    }

    /** The attempts in order: every alternative in every place, alternatives first (preferred version everywhere, then the next). */
    public static List<Attempt> attempts(LibrarySearch search, List<Candidate> alternatives) {
        List<Attempt> out = new ArrayList<>();
        for (Candidate c : alternatives) {
            for (SearchPlace p : search.places()) {
                if (p.isLoader()) {
                    out.add(new Attempt(c, p, null));
                } else {
                    Path f = p.dir().resolve(c.file());
                    if (Files.exists(f)) out.add(new Attempt(c, p, f));
                }
            }
        }
        return out;
    }

    /**
     * Loads the first alternative that loads, or throws {@link NotLoadable} with one line naming
     * what was missing and every place searched, or what was found and why it did not load.
     */
    public static Loaded loadFirst(String what, LibrarySearch search, List<Candidate> alternatives) throws NotLoadable {
        List<String> failures = new ArrayList<>();
        for (Attempt a : attempts(search, alternatives)) {
            try {
                if (a.path() != null) {
                    for (String sibling : a.candidate().sameFolderFirst()) {
                        Path s = a.path().resolveSibling(sibling);
                        if (Files.exists(s)) NativeLibrary.open(s.toString());
                    }
                }
                return new Loaded(NativeLibrary.open(a.target()), a);
            } catch (NativeLibrary.LoadFailure f) {
                if (a.path() == null && f.notFound()) continue; // not on the loader path: the folders come next
                failures.add(f.library() + ": " + f.reason());
            }
        }
        throw new NotLoadable(message(what, search, alternatives, failures));
    }

    static String message(String what, LibrarySearch search, List<Candidate> alternatives, List<String> failures) {
        if (!failures.isEmpty()) {
            return what + " could not be loaded: " + String.join("; ", failures);
        }
        List<String> files = alternatives.stream().map(Candidate::file).toList();
        return what + " not found: no " + String.join(" or ", files) + " in " + search.describe()
                + " (set " + search.envVar() + " to the folder that holds it)";
    }

    /** A library that is missing or broken; the message is one line meant for the user. */
    public static final class NotLoadable extends Exception {
        public NotLoadable(String message) {
            super(message);
        }
    }
}
