package org.densenet.cli;

import java.io.PrintWriter;
import org.densenet.cli.bench.BenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code densenet} command: train, evaluate and inspect DenseNets. Exit status: 0 success,
 * 1 an error in the data or the run (the message says which file and what), 2 a usage error,
 * 3 a training run that diverged (NaN or infinite loss), 130 interrupted (Ctrl-C) after saving.
 */
@Command(name = "densenet", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Trains and evaluates DenseNets (Huang et al., arXiv 1608.06993) on the CPU or an NVIDIA GPU.",
        subcommands = {TrainCommand.class, EvalCommand.class, PredictCommand.class, ExportCommand.class, InfoCommand.class, DevicesCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    public static final int EXIT_ERROR = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_DIVERGED = 3;
    public static final int EXIT_INTERRUPTED = 130;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit status (no System.exit), for tests and embedding. */
    public static int run(String... args) {
        try {
            return commandLine().execute(args);
        } catch (OutOfMemoryError e) {
            // the run checks its memory plan first; this is what the plan does not see (scratch arrays, data, the JIT)
            System.err.println("error: out of memory: " + e.getMessage() + " (" + org.densenet.engine.cpu.CpuBackend.heapLimitNote()
                    + "). Or use --memory recompute or a smaller -b.");
            if (System.getenv("DENSENET_TRACE") != null) e.printStackTrace();
            return EXIT_ERROR;
        }
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Main::onError);
        cl.setParameterExceptionHandler(Main::onBadArguments);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }

    /** Options that do not parse: the reason (with spelling suggestions), then the command's usage. */
    private static int onBadArguments(CommandLine.ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        err.println(cl.getColorScheme().errorText(e.getMessage()));
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        cl.usage(err, cl.getColorScheme());
        err.flush();
        return EXIT_USAGE;
    }

    /** Errors from a running command (bad data, unreadable files): one line, no stack trace. */
    private static int onError(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
        if (e instanceof UsageError) {
            err.println(cl.getColorScheme().errorText("error: " + msg));
            cl.usage(err, cl.getColorScheme());
            err.flush();
            return EXIT_USAGE;
        }
        err.println("error: " + msg);
        if (System.getenv("DENSENET_TRACE") != null) e.printStackTrace(err);
        err.flush();
        return EXIT_ERROR;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "no command given; choose one of "
                + String.join(", ", spec.subcommands().keySet()));
    }

    /** A user mistake found after parsing (an inconsistent combination of options): exit status 2. */
    public static final class UsageError extends RuntimeException {
        public UsageError(String message) {
            super(message);
        }
    }
}
