package org.densenet.engine;

/**
 * Work could not be captured as a graph; the message says why in words for a user (an op that
 * cannot be captured, a capture that would allocate). Nothing of the work has run: it can run
 * again uncaptured and give the same results.
 */
public final class GraphCaptureException extends RuntimeException {
    public GraphCaptureException(String message) {
        super(message);
    }

    public GraphCaptureException(String message, Throwable cause) {
        super(message, cause);
    }
}
