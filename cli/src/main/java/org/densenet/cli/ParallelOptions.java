package org.densenet.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.densenet.engine.Backend;
import org.densenet.engine.Backends;
import org.densenet.engine.Precision;
import org.densenet.engine.cuda.CudaBackend;
import org.densenet.engine.cuda.ffm.LibraryLoader;
import org.densenet.engine.cuda.ffm.Nccl;
import org.densenet.engine.cuda.ffm.NcclLibrary;
import org.densenet.train.Checkpoint;
import org.densenet.train.Trainer;
import org.densenet.train.dist.DataParallelTraining;
import org.densenet.train.dist.LaunchEnvironment;
import org.densenet.train.dist.Rendezvous;
import picocli.CommandLine.Option;

/**
 * Data-parallel training (docs/DISTRIBUTED.md): the local GPUs, the machines of a multi-node run,
 * and the timeouts. One process per machine drives its GPUs with a thread each; launchers that
 * start a process per GPU (torchrun, srun, mpirun) are read from their environment.
 */
public final class ParallelOptions {
    @Option(names = "--gpus", paramLabel = "N|LIST",
            description = "Train data-parallel on N local GPUs (cuda:0 to cuda:N-1) or on the listed ones (e.g. 0,2,3): a thread and a"
                    + " backend per GPU; -b is the batch per GPU, the global batch is the GPU count times it. Under torchrun, srun or"
                    + " mpirun with a process per GPU, leave it out: each process takes cuda:LOCAL_RANK.")
    String gpus;

    @Option(names = "--nccl-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "A collective that does not complete within this time (a rank died or hangs) ends every rank through"
                    + " ncclCommAbort, naming the rank and what was pending (default: ${DEFAULT-VALUE}).")
    double ncclTimeout;

    @Option(names = "--rendezvous-timeout", paramLabel = "SECONDS", defaultValue = "300",
            description = "How long the processes of a multi-machine run wait for each other at the start (default: ${DEFAULT-VALUE}).")
    double rendezvousTimeout;

    @Option(names = "--nnodes", paramLabel = "N", description = "Machines in a multi-machine run started by hand (with --node-rank and --master).")
    Integer nnodes;

    @Option(names = "--node-rank", paramLabel = "R", description = "This machine's number, 0 to --nnodes - 1; machine 0 runs the rendezvous.")
    Integer nodeRank;

    @Option(names = "--master", paramLabel = "HOST:PORT", description = "Where machine 0 listens for the others ([::1]:29500 for IPv6).")
    String master;

    /** Where this process stands: the flags, else the launcher's environment, else alone. */
    LaunchEnvironment environment() {
        try {
            return LaunchEnvironment.detect(new LaunchEnvironment.Flags(nnodes, nodeRank, master));
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }

    /** The local GPU ordinals this process trains on, or null for the ordinary run on --device. */
    List<Integer> localGpus(LaunchEnvironment env, String device) {
        if (!(ncclTimeout > 0)) throw new Main.UsageError("--nccl-timeout must be > 0 seconds, got " + ncclTimeout);
        if (!(rendezvousTimeout > 0)) throw new Main.UsageError("--rendezvous-timeout must be > 0 seconds, got " + rendezvousTimeout);
        if (gpus == null && !env.distributed()) return null;
        if (device.strip().equalsIgnoreCase("cpu")) {
            throw new Main.UsageError((gpus != null ? "--gpus" : env.describe()) + ": data-parallel training runs on GPUs; drop --device cpu");
        }
        return gpus == null ? List.of(env.localRank()) : parseGpus(gpus);
    }

    /** "4" is cuda:0 to cuda:3; "0,2,3" those three. */
    static List<Integer> parseGpus(String spec) {
        return parseGpus(spec, false);
    }

    /**
     * As {@link #parseGpus(String)}; with {@code repeats}, an ordinal may come more than once ("0,0": two ranks on one
     * GPU, which NCCL 2.30 and later allow with NCCL_MULTI_RANK_GPU_ENABLE=1).
     */
    public static List<Integer> parseGpus(String spec, boolean repeats) {
        String s = spec.strip();
        try {
            if (!s.contains(",")) {
                int n = Integer.parseInt(s);
                if (n < 1 || n > 64) throw new Main.UsageError("--gpus " + s + ": give 1 to 64 GPUs, or a list of ordinals such as 0,2,3");
                List<Integer> all = new ArrayList<>();
                for (int g = 0; g < n; g++) all.add(g);
                return all;
            }
            Set<Integer> seen = new LinkedHashSet<>();
            List<Integer> list = new ArrayList<>();
            for (String part : s.split(",")) {
                int g = Integer.parseInt(part.strip());
                if (g < 0 || (!seen.add(g) && !repeats)) throw new Main.UsageError("--gpus " + s + ": ordinals must be distinct and >= 0");
                list.add(g);
            }
            return List.copyOf(list);
        } catch (NumberFormatException e) {
            throw new Main.UsageError("--gpus '" + spec + "' is neither a count nor a list of GPU ordinals such as 0,2,3");
        }
    }

    /** Makes each rank's trainer; rank 0's output is {@code out}, the others' is dropped. */
    @FunctionalInterface
    interface RankTrainer {
        Trainer make(CudaBackend backend, PrintStream out);
    }

    /**
     * Trains on {@code local} as this process's ranks of the NCCL world: the unique id from the
     * rendezvous (or NCCL_COMM_ID), a CUDA backend per GPU with graphs as {@code graphs} asks (and
     * {@link #graphsFor} allows), then every rank's trainer.
     */
    Trainer.Result train(LaunchEnvironment env, List<Integer> local, Precision precision, boolean graphs, Checkpoint resume, PrintStream out,
                         RankTrainer trainers) throws IOException {
        Nccl nccl = loadNccl();
        int perProcess = local.size(), world = env.worldSize() * perProcess, firstRank = env.ncclRank(0, perProcess);
        byte[] id = env.rank() == 0 || !Rendezvous.neededWith(System.getenv()) ? nccl.uniqueId() : null;
        if (env.distributed() && Rendezvous.neededWith(System.getenv())) {
            id = Rendezvous.share(env.rank(), env.worldSize(), env.masterHost(), env.rendezvousPort(), id, seconds(rendezvousTimeout));
        }
        List<CudaBackend> backends = new ArrayList<>();
        PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
        try {
            boolean captured = graphsFor(local, nccl, graphs, out);
            openGpus(local, precision, captured, backends);
            if (firstRank == 0) {
                out.printf("data parallel: %d GPU%s in all (%s), this process %s; NCCL %s; CUDA graphs %s%n", world, world == 1 ? "" : "s",
                        env.distributed() ? env.describe() : "one process", local, Nccl.describeVersion(nccl.version()),
                        captured ? "on (each step with its all-reduces; on a GPU unverified)" : "off");
            }
            DataParallelTraining.World w = new DataParallelTraining.World(nccl, id, firstRank, world, seconds(ncclTimeout));
            return DataParallelTraining.run(w, backends, (rank, backend) -> trainers.make(backend, rank == 0 ? out : nowhere), resume);
        } finally {
            for (CudaBackend b : backends) b.close();
        }
    }

    /** NCCL, or an error saying why --gpus cannot have it. */
    public static Nccl loadNccl() {
        try {
            return NcclLibrary.load();
        } catch (LibraryLoader.NotLoadable e) {
            throw new IllegalStateException("--gpus needs NCCL: " + e.getMessage());
        }
    }

    /**
     * Whether the ranks on {@code ordinals} capture their steps as CUDA graphs: as {@code asked} (--cuda-graphs), unless
     * NCCL is older than 2.9, which cannot be captured, or two ranks share a GPU, whose one context and legacy stream
     * they would share too (one rank's synchronous copy would join the other's capture); then off, with one line on
     * {@code notes} saying why. Each rank captures on its own thread in CUDA's thread-local mode, so that one rank's
     * capture leaves the others' allocations alone, and the gradient all-reduces are captured with the step
     * ({@code org.densenet.engine.cuda.GradientAllReduce}). Real NCCL inside a captured graph is unverified on a GPU:
     * it has run on the emulated device and the stand-in NCCL only.
     */
    public static boolean graphsFor(List<Integer> ordinals, Nccl nccl, boolean asked, PrintStream notes) {
        if (!asked) return false;
        if (nccl.version() < 20900) {
            notes.println("cuda graphs: off, since NCCL " + Nccl.describeVersion(nccl.version()) + " cannot be captured in a graph (2.9 or later can)");
            return false;
        }
        if (new LinkedHashSet<>(ordinals).size() < ordinals.size()) {
            notes.println("cuda graphs: off, since ranks sharing a GPU " + ordinals + " share its context, where one rank's synchronous"
                    + " copies would spoil another's capture");
            return false;
        }
        return true;
    }

    /**
     * Opens a CUDA backend per ordinal into {@code into}, capturing graphs when {@code graphs} (see {@link #graphsFor}); the
     * caller closes them, also when this throws.
     */
    public static void openGpus(List<Integer> ordinals, Precision precision, boolean graphs, List<CudaBackend> into) {
        for (int g : ordinals) {
            Backend b = Backends.create("cuda:" + g, precision, graphs, System.err);
            if (!(b instanceof CudaBackend c)) {
                b.close();
                throw new IllegalStateException("--gpus: cuda:" + g + " did not open as a GPU");
            }
            into.add(c);
        }
    }

    static Duration seconds(double s) {
        return Duration.ofMillis(Math.max(1, Math.round(s * 1000)));
    }
}
