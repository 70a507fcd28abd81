package org.densenet.train.data.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.densenet.engine.cuda.ffm.LibraryLoader;
import org.densenet.engine.cuda.ffm.LibraryLoader.Candidate;
import org.densenet.engine.cuda.ffm.LibraryLoader.Loaded;
import org.densenet.engine.cuda.ffm.LibraryLoader.NotLoadable;
import org.densenet.engine.cuda.ffm.LibrarySearch;

/**
 * libjpeg-turbo's TurboJPEG API, bound with FFM: the decompression functions of the 2.x API
 * ({@code tjDecompressHeader3}, {@code tjDecompress2}), which libturbojpeg.so.0 of 2.0, 2.1 and 3.x
 * all export. 2.x has no region decode ({@code tj3SetCroppingRegion} is 3.0's), so a crop is decoded
 * whole, at the DCT scaling its size allows. Found like the CUDA libraries: {@value #ENV_LIBS}, the
 * loader path, the folder of the bundle's jar (the bundle ships a copy), the system folders.
 */
public final class TurboJpeg {
    public static final String ENV_LIBS = "DENSENET_JPEG_LIBS";

    /** TJPF: packed 8-bit RGB, and 8-bit grey. */
    public static final int PF_RGB = 0, PF_GRAY = 6;
    /** TJCS: the JPEG's colour space. */
    public static final int CS_RGB = 0, CS_YCBCR = 1, CS_GRAY = 2, CS_CMYK = 3, CS_YCCK = 4;
    /** TJERR_WARNING: the image was decoded, with a complaint (tjGetErrorCode). */
    public static final int ERR_WARNING = 0;

    private static TurboJpeg loaded;
    private static String failure;

    private final String where;
    private final MethodHandle initDecompress, destroy, header3, decompress2, errorStr2, errorCode;

    private TurboJpeg(Loaded lib) {
        this.where = lib.where();
        var l = lib.library();
        initDecompress = l.function("tjInitDecompress", FunctionDescriptor.of(ADDRESS));
        destroy = l.function("tjDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        header3 = l.function("tjDecompressHeader3", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        decompress2 = l.function("tjDecompress2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        errorStr2 = l.function("tjGetErrorStr2", FunctionDescriptor.of(ADDRESS, ADDRESS));
        errorCode = l.function("tjGetErrorCode", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    /** The library, loaded once per process; a failure is remembered and reported again in the same words. */
    public static synchronized TurboJpeg load() throws NotLoadable {
        if (loaded != null) return loaded;
        if (failure != null) throw new NotLoadable(failure);
        try {
            Loaded lib = LibraryLoader.loadFirst("libjpeg-turbo (TurboJPEG)", search(), List.of(Candidate.of("libturbojpeg.so.0")));
            loaded = new TurboJpeg(lib);
            return loaded;
        } catch (NotLoadable e) {
            failure = e.getMessage();
            throw e;
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            failure = "libturbojpeg.so.0 could not be bound: " + e.getMessage();
            throw new NotLoadable(failure);
        }
    }

    static LibrarySearch search() {
        List<Path> bundled = new ArrayList<>();
        try {
            // The bundle puts the library beside its jar (bin/cli-stage.sh).
            Path jar = Path.of(TurboJpeg.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (jar.getParent() != null) bundled.add(jar.getParent());
        } catch (Exception ignored) {
            // no code source (an unusual class loader): the other places remain
        }
        return LibrarySearch.forHostLibrary(ENV_LIBS, Map.copyOf(System.getenv()), bundled, Path.of("/"));
    }

    /** "/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0" or "libturbojpeg.so.0 (loader path)". */
    public String where() {
        return where;
    }

    /** A new decompressor (tjhandle); one per thread, since a handle holds the state of one decode. */
    public MemorySegment newDecompressor() {
        MemorySegment h;
        try {
            h = (MemorySegment) initDecompress.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("tjInitDecompress could not be called", t);
        }
        if (h.address() == 0) throw new IllegalStateException("tjInitDecompress failed: " + lastError(MemorySegment.NULL));
        return h;
    }

    public void destroy(MemorySegment handle) {
        try {
            int rc = (int) destroy.invokeExact(handle);
            if (rc != 0) throw new IllegalStateException("tjDestroy failed");
        } catch (Throwable t) {
            throw new IllegalStateException("tjDestroy could not be called", t);
        }
    }

    /** tjDecompressHeader3: width, height, subsampling, colour space into {@code out4} (four ints); 0 or -1. */
    public int header(MemorySegment handle, MemorySegment jpeg, long size, MemorySegment out4) {
        try {
            return (int) header3.invokeExact(handle, jpeg, size, out4, out4.asSlice(4), out4.asSlice(8), out4.asSlice(12));
        } catch (Throwable t) {
            throw new IllegalStateException("tjDecompressHeader3 could not be called", t);
        }
    }

    /**
     * tjDecompress2 into packed pixels of {@code pixelFormat}, {@code width} x {@code height} being the JPEG's
     * size at the scaling factor wanted (TurboJPEG picks the largest factor that fits). Flags 0: the
     * accurate integer IDCT and fancy upsampling, libjpeg's defaults and PIL's. 0 or -1.
     */
    public int decompress(MemorySegment handle, MemorySegment jpeg, long size, MemorySegment dst, int width, int height, int pixelFormat) {
        try {
            return (int) decompress2.invokeExact(handle, jpeg, size, dst, width, 0, height, pixelFormat, 0);
        } catch (Throwable t) {
            throw new IllegalStateException("tjDecompress2 could not be called", t);
        }
    }

    /** The message of the handle's last failure, libjpeg's own words. */
    public String lastError(MemorySegment handle) {
        try {
            MemorySegment s = (MemorySegment) errorStr2.invokeExact(handle);
            return s.address() == 0 ? "no message" : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("tjGetErrorStr2 could not be called", t);
        }
    }

    /** True when the handle's last failure was only a warning: the image was decoded. */
    public boolean lastWasWarning(MemorySegment handle) {
        try {
            return (int) errorCode.invokeExact(handle) == ERR_WARNING;
        } catch (Throwable t) {
            throw new IllegalStateException("tjGetErrorCode could not be called", t);
        }
    }
}
