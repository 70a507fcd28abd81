package org.densenet.train.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.densenet.train.dist.LaunchEnvironment.Flags;
import org.junit.jupiter.api.Test;

class LaunchEnvironmentTest {
    private static final Flags NONE = new Flags(null, null, null);

    @Test
    void torchrunsVariablesGiveRankWorldLocalRankAndMaster() {
        Map<String, String> env = Map.of("RANK", "5", "WORLD_SIZE", "8", "LOCAL_RANK", "1", "MASTER_ADDR", "node01", "MASTER_PORT", "29501",
                "SLURM_PROCID", "0", "SLURM_NTASKS", "2", "SLURM_JOB_NODELIST", "node[01-02]");
        LaunchEnvironment e = LaunchEnvironment.detect(env, NONE);
        assertEquals(new LaunchEnvironment("torchrun", 5, 8, 1, "node01", 29501), e);
        assertEquals("rank 5 of 8 (torchrun), master node01:29501", e.describe());
        assertEquals(29502, e.rendezvousPort(), "torchrun's agent holds the master port");
        assertEquals(11, e.ncclRank(1, 2));
    }

    @Test
    void openMpiNeedsTheMasterFromMasterAddr() {
        Map<String, String> env = new HashMap<>(Map.of("OMPI_COMM_WORLD_RANK", "3", "OMPI_COMM_WORLD_SIZE", "4",
                "OMPI_COMM_WORLD_LOCAL_RANK", "3", "SLURM_PROCID", "0", "SLURM_NTASKS", "1"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LaunchEnvironment.detect(env, NONE));
        assertEquals("Open MPI's variables are set but MASTER_ADDR is not", e.getMessage());
        env.put("MASTER_ADDR", "10.0.0.7");
        assertEquals(new LaunchEnvironment("Open MPI", 3, 4, 3, "10.0.0.7", 29500), LaunchEnvironment.detect(env, NONE));
    }

    @Test
    void slurmTakesTheFirstNodeOfTheAllocationAndAPortFromTheJobId() {
        Map<String, String> env = Map.of("SLURM_PROCID", "6", "SLURM_NTASKS", "8", "SLURM_LOCALID", "2",
                "SLURM_JOB_NODELIST", "gpu-b[07-09,12],gpu-a01", "SLURM_JOB_ID", "4242421");
        assertEquals(new LaunchEnvironment("Slurm", 6, 8, 2, "gpu-b07", 15000 + 4242421 % 20000), LaunchEnvironment.detect(env, NONE));
        Map<String, String> withMaster = new HashMap<>(env);
        withMaster.put("MASTER_ADDR", "login1");
        withMaster.put("MASTER_PORT", "4000");
        assertEquals(new LaunchEnvironment("Slurm", 6, 8, 2, "login1", 4000), LaunchEnvironment.detect(withMaster, NONE));
        assertFalse(LaunchEnvironment.detect(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "1"), NONE).distributed(),
                "one Slurm task is a single process, with or without a node list");
    }

    @Test
    void explicitFlagsWinOverEveryLauncher() {
        Map<String, String> env = Map.of("RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "x", "MASTER_PORT", "1");
        assertEquals(new LaunchEnvironment("--nnodes/--node-rank/--master", 2, 4, 0, "head", 29400),
                LaunchEnvironment.detect(env, new Flags(4, 2, "head:29400")));
        assertEquals("::1", LaunchEnvironment.detect(Map.of(), new Flags(2, 1, "[::1]:7000")).masterHost());
    }

    @Test
    void badValuesSayWhichVariableOrFlagAndWhy() {
        record Case(Map<String, String> env, Flags flags, String message) {
        }
        for (Case c : List.of(
                new Case(Map.of("RANK", "1", "WORLD_SIZE", "two", "MASTER_ADDR", "a", "MASTER_PORT", "1"), NONE,
                        "WORLD_SIZE=two (torchrun) is not a whole number"),
                new Case(Map.of("RANK", "2", "WORLD_SIZE", "2", "MASTER_ADDR", "a", "MASTER_PORT", "1"), NONE, "torchrun: rank 2 is outside 0..1"),
                new Case(Map.of("RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "a"), NONE, "torchrun's variables are set but MASTER_PORT is not"),
                new Case(Map.of("RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "a", "MASTER_PORT", "70000"), NONE,
                        "torchrun: port 70000 is outside 1..65535"),
                new Case(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "2"), NONE, "Slurm's variables are set but SLURM_NODELIST is not"),
                new Case(Map.of(), new Flags(2, null, "h:1"), "--nnodes 2 needs --node-rank"),
                new Case(Map.of(), new Flags(null, 1, "h:1"), "--nnodes, --node-rank and --master HOST:PORT go together; --nnodes is missing"),
                new Case(Map.of(), new Flags(2, 1, "h"), "--master must be HOST:PORT, got 'h'"),
                new Case(Map.of(), new Flags(2, 3, "h:5"), "--nnodes/--node-rank/--master: rank 3 is outside 0..1"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LaunchEnvironment.detect(c.env(), c.flags()));
            assertEquals(c.message(), e.getMessage());
        }
    }

    @Test
    void withoutALauncherItIsOneProcess() {
        LaunchEnvironment e = LaunchEnvironment.detect(Map.of("PATH", "/bin"), NONE);
        assertEquals(LaunchEnvironment.single(), e);
        assertFalse(e.distributed());
    }
}
