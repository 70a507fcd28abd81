package org.densenet.train;

import java.io.PrintStream;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.densenet.engine.Backend;
import org.densenet.engine.CapturedGraph;
import org.densenet.engine.GraphCaptureException;
import org.densenet.engine.PendingLoss;

/**
 * Runs a step (a training step, an evaluation forward) as a captured graph replayed once per call,
 * where the backend captures graphs. The work is captured the second time it runs with the same
 * key, so that the first, uncaptured run has done what a capture cannot: cuDNN's algorithm search,
 * growing the workspaces and scratch, making the activations for the shape. From then on it is
 * replayed until the memory it used is given back (a model's activations made again for another
 * shape, say), when every graph is dropped and warms up again.
 *
 * <p>The key stands for the device memory the work reads and writes: the same key promises the
 * same buffers, shapes and ops, with whatever changes between steps (the batch, the learning rate)
 * written into those buffers before the call. When a capture fails the step runs uncaptured, and
 * one line says why (once per reason); after two failures for one key it stops trying that key.
 * A warm-up on inputs unlike those a step of its kind was captured on (an epoch's last, smaller
 * batch) also gets its line, once.
 * The work may run more than once for one call (a failed capture, then the step itself), so it
 * must set any host state it depends on rather than build on it.
 */
public final class CapturedSteps implements AutoCloseable {
    /** Most graphs kept at once (a benchmark rotating through a few input batches has one each). */
    static final int MAX_GRAPHS = 8;

    private final Backend backend;
    private final PrintStream notes;
    private final Map<Object, CapturedGraph> graphs = new LinkedHashMap<>();
    private final Set<Object> warm = new HashSet<>();
    private final Map<Object, Integer> failures = new HashMap<>();
    private final Set<String> said = new HashSet<>();
    /** The inputs each kind of step was captured on: a warm-up of that kind on other inputs (another batch size) gets a line. */
    private final Map<String, Set<String>> captured = new HashMap<>();
    private long replays, uncaptured, captures;

    /** {@code notes} gets the one-line reasons (a progress stream, not the results). */
    public CapturedSteps(Backend backend, PrintStream notes) {
        this.backend = backend;
        this.notes = notes;
    }

    /** Whether the backend captures at all (a GPU with graphs on). */
    public boolean enabled() {
        return backend.capturesGraphs();
    }

    /**
     * Runs {@code work} for inputs {@code key}, captured and replayed when it can be; returns its
     * loss. For the notes, {@code kind} names the step ("the training step") and {@code inputs} what
     * it runs on ("a batch of 64").
     */
    public PendingLoss run(Object key, String kind, String inputs, Supplier<PendingLoss> work) {
        String what = kind + " on " + inputs;
        if (!enabled()) return work.get();
        dropStale();
        CapturedGraph g = graphs.get(key);
        if (g != null) {
            replays++;
            return g.replay();
        }
        uncaptured++;
        if (failures.getOrDefault(key, 0) >= 2) return work.get();
        if (warm.add(key)) {
            // A first run is expected to be uncaptured; one of a kind already captured on other inputs deserves its line.
            Set<String> seen = captured.get(kind);
            if (seen != null && !seen.contains(inputs)) {
                say("cuda graphs: " + what + " runs uncaptured: inputs unlike those it was captured on run uncaptured once first"
                        + " (and their new activations make the captured step warm up again)");
            }
            return work.get();
        }
        try {
            g = backend.capture(work::get);
        } catch (GraphCaptureException e) {
            failures.merge(key, 1, Integer::sum);
            warm.remove(key);
            say("cuda graphs: " + what + " runs uncaptured: " + e.getMessage());
            return work.get();
        }
        uncaptured--;
        if (graphs.size() >= MAX_GRAPHS) {
            Object oldest = graphs.keySet().iterator().next();
            graphs.remove(oldest).close();
        }
        graphs.put(key, g);
        captured.computeIfAbsent(kind, k -> new HashSet<>()).add(inputs);
        captures++;
        replays++;
        return g.replay();
    }

    /** Steps replayed from a graph so far. */
    public long replays() {
        return replays;
    }

    /** Steps run uncaptured so far (warm-up, failed captures), while graphs were enabled. */
    public long uncapturedSteps() {
        return uncaptured;
    }

    /** Captures made so far. */
    public long captures() {
        return captures;
    }

    /** A graph whose memory was given back drops them all: what changed memory changed the others' too, so all warm up again. */
    private void dropStale() {
        boolean stale = false;
        for (CapturedGraph g : graphs.values()) stale |= !g.valid();
        if (!stale) return;
        close();
    }

    private void say(String line) {
        if (said.add(line)) notes.println(line);
    }

    @Override
    public void close() {
        for (CapturedGraph g : graphs.values()) g.close();
        graphs.clear();
        warm.clear();
    }
}
