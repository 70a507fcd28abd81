package org.densenet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** summary.csv rows, their data-wait column, and the note an input-bound epoch gets. */
class EpochRecordTest {
    @Test
    void rowsRoundTripAndOlderNineFieldRowsReadWithAnUnknownWait() {
        EpochRecord r = new EpochRecord(4, 0.01, 0.5, 80.25, 0.6, 78.5, 97.25, 123.45, 67.891, 3.25);
        assertEquals("4,0.0100000,0.500000,80.2500,0.600000,78.5000,97.2500,123.45,67.891,3.250", r.csv());
        assertEquals(r, EpochRecord.parse(r.csv()));

        EpochRecord old = EpochRecord.parse("4,0.0100000,0.500000,80.2500,0.600000,78.5000,97.2500,123.45,67.891");
        assertTrue(Double.isNaN(old.dataWaitSeconds()));
        assertEquals(67.891, old.seconds());
        assertTrue(old.csv().endsWith(",67.891,"), "unknown wait is an empty field: " + old.csv());
        assertTrue(Double.isNaN(EpochRecord.parse(old.csv()).dataWaitSeconds()));
        assertThrows(IllegalArgumentException.class, () -> EpochRecord.parse("4,0.01,0.5"));
    }

    @Test
    void resumingARunWrittenBeforeTheColumnKeepsItsRows(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(RunFolder.SUMMARY), "epoch,lr,train_loss,train_top1,val_loss,val_top1,val_top5,images_per_s,seconds\n"
                + "1,0.100000,2.000000,30.0000,1.800000,35.0000,80.0000,100.00,10.000\n");
        try (RunFolder run = new RunFolder(dir, Map.of("model", "test"), 1)) {
            run.add(new EpochRecord(2, 0.01, 1.2, 60, 1.1, 62, 95, 100, 10, 0.75), "test");
        }
        List<String> lines = Files.readAllLines(dir.resolve(RunFolder.SUMMARY));
        assertEquals(List.of(EpochRecord.HEADER, "1,0.100000,2.000000,30.0000,1.800000,35.0000,80.0000,100.00,10.000,",
                "2,0.0100000,1.200000,60.0000,1.100000,62.0000,95.0000,100.00,10.000,0.750"), lines);
    }

    @Test
    void anEpochThatWaitedMoreThanFivePercentForBatchesSaysWhatWouldHelp() {
        assertNull(Trainer.inputBoundNote(5.0, 100.0, 4, 16), "exactly 5% is not input-bound");
        assertNull(Trainer.inputBoundNote(0.0, 0.0, 4, 16), "an epoch that took no time");
        assertEquals("input-bound: training waited 23% of the epoch (0:23) for the loader's batches; more loader threads would help"
                + " (-j 4 now, 16 cores); 'densenet bench data' measures the loader", Trainer.inputBoundNote(23.0, 100.0, 4, 16));
        assertEquals("input-bound: training waited 50% of the epoch (1:15) for the loader's batches; the loader already has a thread per"
                + " core (-j 8), so only a faster machine or storage would help; 'densenet bench data' measures the loader",
                Trainer.inputBoundNote(75.0, 150.0, 8, 8));
    }
}
