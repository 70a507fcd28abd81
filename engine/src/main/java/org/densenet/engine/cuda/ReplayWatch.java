package org.densenet.engine.cuda;

/**
 * What a captured graph holding collectives needs at each replay: its launch performs them, so a
 * peer that never comes must show as the launch (or the wait after it) outliving a timeout, as an
 * uncaptured collective does. The collectives register their watch while the capture runs
 * ({@link CudaContext#watchReplays}); the graph then replays through it ({@link GradientAllReduce}).
 */
interface ReplayWatch {
    /** Runs {@code launch} (the graph's launch on the backend's stream, named {@code what}) under the watch, waiting for it to complete. */
    void replay(String what, Runnable launch);
}
