package org.densenet.engine.cuda.kernels;

import java.util.ArrayList;
import java.util.List;

/** A KernelModule that records launches instead of running them, for tests without a GPU. */
final class RecordingModule implements KernelModule {
    record Launch(String kernel, LaunchGeometry geometry, KernelArgs args) {
    }

    /** A 256-byte aligned fake device address for every scratch request, and the sizes asked for. */
    static final long SCRATCH = 0x7e00_0000_0000L;
    final List<Launch> launches = new ArrayList<>();
    final List<Long> scratchRequests = new ArrayList<>();

    @Override
    public void launch(String kernel, LaunchGeometry g, KernelArgs args) {
        launches.add(new Launch(kernel, g, args));
    }

    @Override
    public long scratch(long bytes) {
        scratchRequests.add(bytes);
        return SCRATCH;
    }

    Launch last() {
        return launches.getLast();
    }
}
