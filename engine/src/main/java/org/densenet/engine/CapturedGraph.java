package org.densenet.engine;

/**
 * Ops queued once under {@link Backend#capture} and replayed as one launch (a CUDA graph): the
 * replay reads and writes the same device memory the captured ops did, so whatever changes from
 * one replay to the next (input batch, learning rate) must be written into that memory first.
 */
public interface CapturedGraph extends AutoCloseable {
    /**
     * Queues the captured ops again; returns the result of the loss op among them, read back once
     * this replay has computed it, or null when they have none.
     */
    PendingLoss replay();

    /**
     * False once device memory that existed at capture has been given back (a model's activations
     * made for another shape, a buffer grown): the ops would then touch memory that is no longer
     * theirs, and the work must be captured again.
     */
    boolean valid();

    @Override
    void close();
}
