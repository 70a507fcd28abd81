package org.densenet.cli;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C (SIGINT) and SIGTERM during training: the first asks the trainer to stop after the
 * current step and save; a second Ctrl-C quits at once. A plain shutdown hook cannot do this: by
 * the time it runs, the JVM is already exiting and the step cannot finish.
 */
final class Interrupts {
    private static SignalHandler oldInt, oldTerm;

    private Interrupts() {
    }

    static synchronized void install(AtomicBoolean stop, int[] signalNumber, PrintStream err) {
        SignalHandler h = sig -> {
            if (stop.getAndSet(true)) {
                err.println("\nquitting without saving");
                Runtime.getRuntime().halt(128 + sig.getNumber());
            }
            signalNumber[0] = sig.getNumber() == 2 ? 0 : sig.getNumber();
            err.println("\nSIG" + sig.getName() + ": stopping after this step and saving a checkpoint (Ctrl-C again to quit at once)");
        };
        oldInt = Signal.handle(new Signal("INT"), h);
        oldTerm = Signal.handle(new Signal("TERM"), h);
    }

    static synchronized void uninstall() {
        if (oldInt != null) Signal.handle(new Signal("INT"), oldInt);
        if (oldTerm != null) Signal.handle(new Signal("TERM"), oldTerm);
        oldInt = oldTerm = null;
    }
}
