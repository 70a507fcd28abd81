package org.densenet.engine.cuda.ffm;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The observation slots a stand-in library keeps (fake_cudnn.c, fake_cublas.c): what its last calls
 * were given, read with {@code fake_value(slot)} and cleared with {@code fake_reset()}.
 */
public final class FakeSlots {
    private final MethodHandle value;
    private final MethodHandle reset;

    public FakeSlots(NativeLibrary lib) {
        value = lib.function("fake_value", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        reset = lib.function("fake_reset", FunctionDescriptor.ofVoid());
    }

    public long get(int slot) {
        try {
            return (long) value.invokeExact(slot);
        } catch (Throwable t) {
            throw new IllegalStateException("fake_value(" + slot + ")", t);
        }
    }

    public void reset() {
        try {
            reset.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("fake_reset()", t);
        }
    }
}
