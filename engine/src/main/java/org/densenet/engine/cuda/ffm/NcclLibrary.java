package org.densenet.engine.cuda.ffm;

import java.util.List;

import org.densenet.engine.cuda.ffm.LibraryLoader.Candidate;
import org.densenet.engine.cuda.ffm.LibraryLoader.Loaded;
import org.densenet.engine.cuda.ffm.LibraryLoader.NotLoadable;

/**
 * Finds and binds libnccl.so.2 once per process, in the toolkit's places (so pip's
 * {@code nvidia/nccl/lib} is searched like the other {@code nvidia/*}/lib folders), and refuses a
 * version older than {@link Nccl#MIN_VERSION}. NCCL loads and answers its version without a GPU;
 * only a communicator needs one. A failure is remembered and reported again in the same words.
 */
public final class NcclLibrary {
    private static Nccl nccl;
    private static String failure;

    private NcclLibrary() {
    }

    public static synchronized Nccl load() throws NotLoadable {
        if (nccl != null) return nccl;
        if (failure != null) throw new NotLoadable(failure);
        try {
            nccl = load(LibrarySearch.forToolkit());
            return nccl;
        } catch (NotLoadable e) {
            failure = e.getMessage();
            throw e;
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            failure = "NCCL could not be bound: " + e.getMessage();
            throw new NotLoadable(failure);
        }
    }

    /** Loads from these places, checking the version. */
    public static Nccl load(LibrarySearch search) throws NotLoadable {
        Loaded lib = LibraryLoader.loadFirst("NCCL", search, List.of(Candidate.of("libnccl.so.2")));
        Nccl n = new Nccl(lib.library(), lib.where());
        int version = n.version();
        if (version < Nccl.MIN_VERSION) {
            throw new NotLoadable("NCCL at " + lib.where() + " is version " + Nccl.describeVersion(version) + "; "
                    + Nccl.describeVersion(Nccl.MIN_VERSION) + " or newer is needed");
        }
        return n;
    }

    /** The line {@code densenet devices} prints: "nccl: NCCL 2.30.7 at /path" or "nccl: not usable: why". */
    public static String describe() {
        try {
            Nccl n = load();
            return "nccl: NCCL " + Nccl.describeVersion(n.version()) + " at " + n.where();
        } catch (NotLoadable e) {
            return "nccl: not usable: " + e.getMessage();
        }
    }
}
