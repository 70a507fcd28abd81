package org.densenet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunFolderTest {

    @Test
    void anUnwritablePlotDoesNotStopTheRunAndTheSummaryKeepsEveryEpoch(@TempDir Path dir) throws IOException {
        // A directory where the PNG should go makes every plot write fail.
        Files.createDirectories(dir.resolve(RunFolder.PLOT).resolve("blocker"));
        try (RunFolder run = new RunFolder(dir, Map.of("model", "test"), 0)) {
            run.add(new EpochRecord(1, 0.1, 2.0, 30, 1.8, 35, 80, 100, 10, 0.5), "test");
            run.add(new EpochRecord(2, 0.01, 1.2, 60, 1.1, 62, 95, 100, 10, 0.5), "test");
        }
        List<String> lines = Files.readAllLines(dir.resolve(RunFolder.SUMMARY));
        assertEquals(EpochRecord.HEADER, lines.get(0));
        assertEquals(3, lines.size(), "header and two epochs");
        assertTrue(lines.get(2).startsWith("2,"), lines.get(2));
        assertTrue(Files.isDirectory(dir.resolve(RunFolder.PLOT)), "the blocker is left as it was");
        assertTrue(Files.notExists(dir.resolve(RunFolder.PLOT + ".tmp")), "no temporary file left behind");
    }
}
