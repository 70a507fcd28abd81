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
}
