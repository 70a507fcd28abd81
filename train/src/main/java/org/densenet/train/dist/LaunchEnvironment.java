package org.densenet.train.dist;

import java.util.Map;

/**
 * Which process of a multi-process run this is, and where rank 0 listens: read from explicit flags
 * or from the launcher that started the process. Ranks here count processes; a process that drives
 * several GPUs owns the NCCL ranks {@code rank * gpusPerProcess} onwards ({@link #ncclRank}).
 *
 * <p>Precedence, most specific first: the flags {@code --nnodes --node-rank --master}; torchrun
 * ({@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK}, {@code MASTER_ADDR}, {@code MASTER_PORT});
 * Open MPI ({@code OMPI_COMM_WORLD_RANK}, {@code _SIZE}, {@code _LOCAL_RANK}, with {@code MASTER_ADDR}
 * and {@code MASTER_PORT}, since mpirun names no master); Slurm ({@code SLURM_PROCID},
 * {@code SLURM_NTASKS}, {@code SLURM_LOCALID}, the first node of {@code SLURM_JOB_NODELIST} as master
 * unless {@code MASTER_ADDR} says otherwise); else a single process. torchrun and mpirun inside a
 * Slurm allocation see Slurm's variables too, which describe the job step rather than this
 * process: that is why they come after.
 */
public record LaunchEnvironment(String launcher, int rank, int worldSize, int localRank, String masterHost, int masterPort) {
    /** torchrun's default port, used when nothing names one. */
    public static final int DEFAULT_PORT = 29500;

    public LaunchEnvironment {
        if (worldSize < 1) throw new IllegalArgumentException(launcher + ": the world size must be at least 1, got " + worldSize);
        if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException(launcher + ": rank " + rank + " is outside 0.." + (worldSize - 1));
        if (localRank < 0) throw new IllegalArgumentException(launcher + ": the local rank must not be negative, got " + localRank);
        if (masterPort < 1 || masterPort > 65535) throw new IllegalArgumentException(launcher + ": port " + masterPort + " is outside 1..65535");
        if (masterHost == null || masterHost.isBlank()) throw new IllegalArgumentException(launcher + ": no master host");
    }

    /** The flags {@code --nnodes N --node-rank R --master HOST:PORT}; null where not given. */
    public record Flags(Integer nnodes, Integer nodeRank, String master) {
        public boolean any() {
            return nnodes != null || nodeRank != null || master != null;
        }
    }

    /** This process alone. */
    public static LaunchEnvironment single() {
        return new LaunchEnvironment("single process", 0, 1, 0, "127.0.0.1", DEFAULT_PORT);
    }

    public boolean distributed() {
        return worldSize > 1;
    }

    /** The NCCL rank of this process's GPU number {@code gpu} when every process drives {@code gpusPerProcess} GPUs. */
    public int ncclRank(int gpu, int gpusPerProcess) {
        if (gpu < 0 || gpu >= gpusPerProcess) throw new IllegalArgumentException("GPU " + gpu + " of " + gpusPerProcess);
        return rank * gpusPerProcess + gpu;
    }

    /**
     * The port our rendezvous listens on: the master port, except under torchrun, whose agent on the
     * master node already serves its own store there (the workers are told to reuse it,
     * TORCHELASTIC_USE_AGENT_STORE); then the port next to it.
     */
    public int rendezvousPort() {
        if (!"torchrun".equals(launcher)) return masterPort;
        return masterPort < 65535 ? masterPort + 1 : masterPort - 1;
    }

    /** "rank 1 of 4 (torchrun), master node01:29500". */
    public String describe() {
        return "rank " + rank + " of " + worldSize + " (" + launcher + "), master " + masterHost + ":" + masterPort;
    }

    public static LaunchEnvironment detect(Flags flags) {
        return detect(System.getenv(), flags);
    }

    public static LaunchEnvironment detect(Map<String, String> env, Flags flags) {
        if (flags != null && flags.any()) return fromFlags(flags);
        if (env.containsKey("RANK") || env.containsKey("WORLD_SIZE")) {
            Vars v = new Vars(env, "torchrun");
            return new LaunchEnvironment("torchrun", v.integer("RANK"), v.integer("WORLD_SIZE"), v.integer("LOCAL_RANK", 0),
                    v.text("MASTER_ADDR"), v.integer("MASTER_PORT"));
        }
        if (env.containsKey("OMPI_COMM_WORLD_RANK")) {
            Vars v = new Vars(env, "Open MPI");
            return new LaunchEnvironment("Open MPI", v.integer("OMPI_COMM_WORLD_RANK"), v.integer("OMPI_COMM_WORLD_SIZE"),
                    v.integer("OMPI_COMM_WORLD_LOCAL_RANK", 0), v.text("MASTER_ADDR"), v.integer("MASTER_PORT", DEFAULT_PORT));
        }
        if (env.containsKey("SLURM_PROCID")) {
            Vars v = new Vars(env, "Slurm");
            int tasks = v.integer("SLURM_NTASKS");
            if (tasks == 1) return single();
            String master = env.containsKey("MASTER_ADDR") ? v.text("MASTER_ADDR")
                    : HostList.first(env.containsKey("SLURM_JOB_NODELIST") ? v.text("SLURM_JOB_NODELIST") : v.text("SLURM_NODELIST"));
            return new LaunchEnvironment("Slurm", v.integer("SLURM_PROCID"), tasks, v.integer("SLURM_LOCALID", 0), master,
                    v.integer("MASTER_PORT", slurmPort(env)));
        }
        return single();
    }

    /**
     * A port derived from the job id, so that two jobs whose first node is the same machine do not
     * both listen on 29500 (PyTorch Lightning does the same).
     */
    static int slurmPort(Map<String, String> env) {
        String job = env.get("SLURM_JOB_ID");
        if (job == null || !job.strip().matches("\\d+")) return DEFAULT_PORT;
        return 15000 + (int) (Long.parseLong(job.strip()) % 20000);
    }

    private static LaunchEnvironment fromFlags(Flags f) {
        if (f.nnodes() == null || f.master() == null) {
            throw new IllegalArgumentException("--nnodes, --node-rank and --master HOST:PORT go together; "
                    + (f.nnodes() == null ? "--nnodes" : "--master") + " is missing");
        }
        int nodeRank = f.nodeRank() == null ? 0 : f.nodeRank();
        if (f.nodeRank() == null && f.nnodes() > 1) throw new IllegalArgumentException("--nnodes " + f.nnodes() + " needs --node-rank");
        int colon = f.master().lastIndexOf(':');
        if (colon <= 0 || colon == f.master().length() - 1) {
            throw new IllegalArgumentException("--master must be HOST:PORT, got '" + f.master() + "'");
        }
        String host = f.master().substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1); // [::1]:29500
        int port;
        try {
            port = Integer.parseInt(f.master().substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--master must be HOST:PORT, got '" + f.master() + "'");
        }
        return new LaunchEnvironment("--nnodes/--node-rank/--master", nodeRank, f.nnodes(), 0, host, port);
    }

    /** Reads one launcher's variables, saying which launcher and variable a bad value came from. */
    private record Vars(Map<String, String> env, String launcher) {
        String text(String name) {
            String v = env.get(name);
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException(launcher + "'s variables are set but " + name + " is not");
            }
            return v.strip();
        }

        int integer(String name) {
            String v = text(name);
            try {
                return Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + "=" + v + " (" + launcher + ") is not a whole number");
            }
        }

        int integer(String name, int fallback) {
            return env.containsKey(name) ? integer(name) : fallback;
        }
    }
}
