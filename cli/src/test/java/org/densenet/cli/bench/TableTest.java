package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class TableTest {

    private static Table sample() {
        Table t = new Table(List.of(new Table.Column("scope", "scope", null), new Table.Column("op", "op", null),
                new Table.Column("ms", "ms", "%.2f"), new Table.Column("calls", "calls", "%d")));
        t.add("block1", "conv_fwd", 1.23456, 12);
        t.add("block1", "bn_stats", Double.NaN, 3);
        t.add("block2", "conv,fwd", 10.0, 100);
        return t;
    }

    @Test
    void textAlignsNumbersRightAndGroupsRows() {
        String text = sample().groupedBy("scope").toText();
        assertEquals("""
                op           ms  calls
                -- block1
                conv_fwd   1.23     12
                bn_stats      -      3
                -- block2
                conv,fwd  10.00    100
                """, text);
    }

    @Test
    void csvKeepsFullPrecisionQuotesCommasAndLeavesMissingEmpty() {
        assertEquals("""
                scope,op,ms,calls
                block1,conv_fwd,1.23456,12
                block1,bn_stats,,3
                block2,"conv,fwd",10.0,100
                """, sample().toCsv());
    }

    @Test
    void recordsAreKeyedByColumnAndNaNBecomesNull() {
        var records = sample().toRecords();
        assertEquals(3, records.size());
        assertEquals(1.23456, records.get(0).get("ms"));
        assertEquals(12, records.get(0).get("calls"));
        assertNull(records.get(1).get("ms"));
    }
}
