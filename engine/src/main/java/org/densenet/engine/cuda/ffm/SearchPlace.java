package org.densenet.engine.cuda.ffm;

import java.nio.file.Path;

/**
 * One place a native library is looked for: a folder, with the reason it is on the list, or the
 * dynamic loader's own search (dir null), which dlopen performs when given a bare soname.
 */
public record SearchPlace(String origin, Path dir) {
    public static final SearchPlace LOADER = new SearchPlace("loader path", null);

    public SearchPlace {
        if (origin == null || origin.isBlank()) throw new IllegalArgumentException("a search place needs an origin");
    }

    public boolean isLoader() {
        return dir == null;
    }

    /** "the loader path" or "/usr/local/cuda/lib64 (CUDA_HOME)". */
    public String describe() {
        return isLoader() ? "the loader path" : dir + " (" + origin + ")";
    }
}
