package org.densenet.engine.profile;

import java.util.ArrayDeque;

/**
 * A label for the ops issued inside a region of code, e.g. "features.denseblock1", so a profile
 * can group them. Scopes nest; the label is the path of the open scopes joined by '/'.
 * Per thread; costs one thread-local look-up per scope, nothing per op when no profiler reads it.
 *
 * <pre>{@code try (var s = OpScope.enter("features.denseblock1")) { ... ops ... } }</pre>
 */
public final class OpScope implements AutoCloseable {
    private static final ThreadLocal<ArrayDeque<String>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final ArrayDeque<String> stack;
    /** Stack size with this scope open. */
    private final int depth;
    private boolean closed;

    private OpScope(ArrayDeque<String> stack) {
        this.stack = stack;
        this.depth = stack.size();
    }

    public static OpScope enter(String label) {
        if (label == null || label.isBlank()) throw new IllegalArgumentException("scope label must not be blank");
        ArrayDeque<String> stack = STACK.get();
        String path = stack.isEmpty() ? label : stack.peekLast() + "/" + label;
        stack.addLast(path);
        return new OpScope(stack);
    }

    /** The path of the open scopes on this thread, or "" outside any. */
    public static String current() {
        String top = STACK.get().peekLast();
        return top == null ? "" : top;
    }

    @Override
    public void close() {
        if (closed) return;
        if (stack.size() != depth) {
            throw new IllegalStateException("scope " + stack.peekLast() + " closed out of order (open depth " + stack.size() + ", this scope's " + depth + ")");
        }
        stack.removeLast();
        closed = true;
    }
}
