package org.densenet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ParallelOptionsTest {
    @Test
    void aCountMeansTheFirstGpusAndAListMeansThoseGpus() {
        assertEquals(List.of(0, 1, 2, 3), ParallelOptions.parseGpus("4"));
        assertEquals(List.of(0, 2, 3), ParallelOptions.parseGpus(" 0, 2,3 "));
    }

    @Test
    void badGpuListsAreRefusedWithTheValue() {
        assertTrue(assertThrows(Main.UsageError.class, () -> ParallelOptions.parseGpus("0")).getMessage().contains("1 to 64"));
        assertTrue(assertThrows(Main.UsageError.class, () -> ParallelOptions.parseGpus("1,1")).getMessage().contains("distinct"));
        assertTrue(assertThrows(Main.UsageError.class, () -> ParallelOptions.parseGpus("two")).getMessage().contains("'two'"));
    }

    @Test
    void trainRefusesGpusOnTheCpuBeforeAnyWork() {
        InProcess.Run r = InProcess.run("train", "--dataset", "synthetic", "--gpus", "2", "--device", "cpu", "--output", "/nonexistent/x");
        assertEquals(Main.EXIT_USAGE, r.status(), r.all());
        assertTrue(r.err().contains("--gpus: data-parallel training runs on GPUs; drop --device cpu"), r.all());
        InProcess.Run t = InProcess.run("train", "--dataset", "synthetic", "--gpus", "2", "--nccl-timeout", "0", "--output", "/nonexistent/x");
        assertEquals(Main.EXIT_USAGE, t.status(), t.all());
        assertTrue(t.err().contains("--nccl-timeout must be > 0 seconds"), t.all());
    }
}
