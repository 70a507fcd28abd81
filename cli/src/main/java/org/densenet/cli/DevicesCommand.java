package org.densenet.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.densenet.engine.Backends;
import org.densenet.engine.cuda.ffm.NcclLibrary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code densenet devices}: the backends this machine can use, and why not when it cannot. */
@Command(name = "devices", mixinStandardHelpOptions = true, description = "List the usable backends (CPU, CUDA GPUs) and NCCL, and why a GPU or NCCL is not usable.")
final class DevicesCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (String line : Backends.describeDevices()) out.println(line);
        out.println(NcclLibrary.describe());
        out.flush();
        return 0;
    }
}
