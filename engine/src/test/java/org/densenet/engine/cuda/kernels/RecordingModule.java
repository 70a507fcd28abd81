package org.densenet.engine.cuda.kernels;

import java.util.ArrayList;
import java.util.List;

/** A KernelModule that records launches instead of running them, for tests without a GPU. */
final class RecordingModule implements KernelModule {
    record Launch(String kernel, LaunchGeometry geometry, KernelArgs args) {
    }

    final List<Launch> launches = new ArrayList<>();

    @Override
    public void launch(String kernel, LaunchGeometry g, KernelArgs args) {
        launches.add(new Launch(kernel, g, args));
    }

    Launch last() {
        return launches.getLast();
    }
}
