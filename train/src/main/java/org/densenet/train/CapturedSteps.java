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
 *
 * <p>Data-parallel steps hold their collectives in the graph ({@link #across}), and NCCL asks that
 * whether a collective is captured be the same on every rank, and that a graph holding one be
 * launched by every rank that captured it. So the ranks agree through a small collective of their
 * own: after each capture, all keep their graph or all run the step uncaptured; and before a step
 * while graphs are held, all keep them or all drop them (memory given back on one rank only, say).
 * Every other decision follows from the keys, which are the same on every rank.
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
    /** With several data-parallel ranks, whether every rank's answer is yes (a collective); null on one GPU. */
    private Agreement ranks;

    /** Whether every rank answers yes; each rank calls it at the same points, as any collective. */
    @FunctionalInterface
    interface Agreement {
        boolean all(boolean mine, String what);
    }

    /** {@code notes} gets the one-line reasons (a progress stream, not the results). */
    public CapturedSteps(Backend backend, PrintStream notes) {
        this.backend = backend;
        this.notes = notes;
    }

    /**
     * The steps are one rank's of {@code par}, whose collectives they capture: with more than one rank, the ranks agree on
     * keeping each capture and the graphs held (see the class comment), through {@link DataParallel#sum}. Evaluation,
     * whose ranks run different numbers of batches and capture no collective, does not call this.
     */
    public CapturedSteps across(DataParallel par) {
        ranks = par.size() == 1 ? null : (mine, what) -> par.sum(new double[] {mine ? 0 : 1}, what)[0] == 0;
        return this;
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
        dropStale(what);
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
        String failed = null;
        try {
            g = backend.capture(work::get);
        } catch (GraphCaptureException e) {
            failed = e.getMessage();
        }
        if (ranks != null && !ranks.all(g != null, "whether every rank captured " + what) && g != null) {
            g.close();
            g = null;
            failed = "another data-parallel rank could not capture it, and every rank must replay the same collectives";
        }
        if (g == null) {
            failures.merge(key, 1, Integer::sum);
            warm.remove(key);
            say("cuda graphs: " + what + " runs uncaptured: " + failed);
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

    /**
     * A graph whose memory was given back drops them all: what changed memory changed the others' too, so all warm up again.
     * Data-parallel ranks drop theirs together, when any rank's is stale.
     */
    private void dropStale(String what) {
        if (graphs.isEmpty()) return;
        boolean stale = false;
        for (CapturedGraph g : graphs.values()) stale |= !g.valid();
        if (ranks != null) stale = !ranks.all(!stale, "whether every rank's graphs still hold before " + what);
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
