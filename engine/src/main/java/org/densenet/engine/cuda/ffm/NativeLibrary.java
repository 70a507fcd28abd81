package org.densenet.engine.cuda.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * A shared library opened with dlopen(RTLD_NOW | RTLD_GLOBAL), the way PyTorch preloads pip's CUDA
 * libraries. {@link SymbolLookup#libraryLookup} would do the opening too, but it hides dlerror(),
 * and "file too short" or "libz.so.1: cannot open shared object file" is exactly what a user needs
 * to read when a library is present but cannot be loaded. RTLD_GLOBAL matters: cuDNN's shim opens
 * its sub-libraries and libcublasLt by soname later, and glibc then finds the copies loaded here.
 * Libraries are never closed: they live as long as the process.
 */
public final class NativeLibrary implements SymbolLookup {
    private static final int RTLD_NOW = 0x2;
    private static final int RTLD_GLOBAL = 0x100;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle DLOPEN;
    private static final MethodHandle DLSYM;
    private static final MethodHandle DLERROR;

    static {
        SymbolLookup libc = LINKER.defaultLookup();
        DLOPEN = LINKER.downcallHandle(libc.find("dlopen").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        DLSYM = LINKER.downcallHandle(libc.find("dlsym").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        DLERROR = LINKER.downcallHandle(libc.find("dlerror").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS));
    }

    private final String name;
    private final MemorySegment handle;

    private NativeLibrary(String name, MemorySegment handle) {
        this.name = name;
        this.handle = handle;
    }

    /**
     * Opens a library by soname (searched on the loader path: LD_LIBRARY_PATH, ld.so.cache, /lib, /usr/lib)
     * or by absolute path. Throws {@link LoadFailure} carrying dlerror()'s text.
     */
    public static synchronized NativeLibrary open(String nameOrPath) throws LoadFailure {
        try (Arena arena = Arena.ofConfined()) {
            dlerror(); // clears a stale message
            MemorySegment h = (MemorySegment) DLOPEN.invokeExact(arena.allocateFrom(nameOrPath), RTLD_NOW | RTLD_GLOBAL);
            if (h.address() == 0) {
                String why = dlerror();
                throw new LoadFailure(nameOrPath, why == null ? "dlopen failed without a message" : why);
            }
            return new NativeLibrary(nameOrPath, h);
        } catch (LoadFailure e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("dlopen(" + nameOrPath + ") could not be called", t);
        }
    }

    private static String dlerror() throws Throwable {
        MemorySegment msg = (MemorySegment) DLERROR.invokeExact();
        return msg.address() == 0 ? null : msg.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** The name or path this library was opened with. */
    public String name() {
        return name;
    }

    @Override
    public Optional<MemorySegment> find(String symbol) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = (MemorySegment) DLSYM.invokeExact(handle, arena.allocateFrom(symbol));
            return s.address() == 0 ? Optional.empty() : Optional.of(s);
        } catch (Throwable t) {
            throw new IllegalStateException("dlsym(" + symbol + ") could not be called", t);
        }
    }

    /** A downcall handle for a function this library must export. */
    public MethodHandle function(String symbol, FunctionDescriptor descriptor) {
        MemorySegment address = find(symbol).orElseThrow(() -> new UnsatisfiedLinkError(
                name + " has no function " + symbol + " (an older or newer version than this program expects?)"));
        return LINKER.downcallHandle(address, descriptor);
    }

    @Override
    public String toString() {
        return name;
    }

    /** A library that exists (or was asked for by soname) but could not be loaded; the message is dlerror()'s. */
    public static final class LoadFailure extends Exception {
        private final String library;
        private final String reason;

        public LoadFailure(String library, String reason) {
            super(reason);
            this.library = library;
            this.reason = reason;
        }

        public String library() {
            return library;
        }

        public String reason() {
            return reason;
        }

        /**
         * True when dlopen only says that the library itself does not exist. A missing dependency reads
         * differently: glibc then names the dependency, not the library asked for.
         */
        public boolean notFound() {
            return reason.equals(library + ": cannot open shared object file: No such file or directory");
        }
    }
}
