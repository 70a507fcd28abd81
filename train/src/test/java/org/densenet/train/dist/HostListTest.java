package org.densenet.train.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

class HostListTest {
    @Test
    void expandsRangesListsAndPaddingAsSlurmWritesThem() {
        assertEquals(List.of("node01", "node02", "node03", "node04"), HostList.expand("node[01-04]"));
        assertEquals(List.of("a", "b"), HostList.expand("a,b"));
        assertEquals(List.of("gpu008-ib", "gpu009-ib", "gpu010-ib", "gpu012-ib", "cpu1"), HostList.expand("gpu[008-010,012]-ib,cpu1"));
        assertEquals(List.of("r1-n1", "r1-n2", "r2-n1", "r2-n2"), HostList.expand("r[1-2]-n[1-2]"));
        assertEquals(List.of("node9", "node10"), HostList.expand("node[9-10]"));
    }

    @Test
    void theFirstHostIsTheMaster() {
        assertEquals("node01", HostList.first("node[01-04]"));
        assertEquals("login", HostList.first("login"));
        assertEquals("x-7", HostList.first("x-[7,3]"));
    }

    @Test
    void malformedListsAreRefusedSayingWhere() {
        assertEquals("unbalanced brackets in host list node[01-04",
                assertThrows(IllegalArgumentException.class, () -> HostList.expand("node[01-04")).getMessage());
        assertEquals("'a-b' in host list n[a-b] is not a number or a range like 01-04",
                assertThrows(IllegalArgumentException.class, () -> HostList.expand("n[a-b]")).getMessage());
        assertEquals("range 4-1 in host list n[4-1] runs backwards",
                assertThrows(IllegalArgumentException.class, () -> HostList.expand("n[4-1]")).getMessage());
        assertEquals("an empty name in host list a,,b", assertThrows(IllegalArgumentException.class, () -> HostList.expand("a,,b")).getMessage());
    }
}
