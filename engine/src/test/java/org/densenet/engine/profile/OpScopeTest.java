package org.densenet.engine.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class OpScopeTest {

    @Test
    void nestedScopesFormAPathAndUnwind() {
        assertEquals("", OpScope.current());
        try (var a = OpScope.enter("bwd")) {
            assertEquals("bwd", OpScope.current());
            try (var b = OpScope.enter("features.denseblock2")) {
                assertEquals("bwd/features.denseblock2", OpScope.current());
            }
            assertEquals("bwd", OpScope.current());
        }
        assertEquals("", OpScope.current());
    }

    @Test
    void closingOutOfOrderIsAnError() {
        OpScope outer = OpScope.enter("outer");
        OpScope inner = OpScope.enter("inner");
        try {
            assertThrows(IllegalStateException.class, outer::close);
        } finally {
            inner.close();
            outer.close();
        }
        assertEquals("", OpScope.current());
    }

    @Test
    void scopesArePerThread() throws InterruptedException {
        try (var a = OpScope.enter("main-thread")) {
            String[] seen = new String[1];
            Thread t = Thread.ofPlatform().start(() -> seen[0] = OpScope.current());
            t.join();
            assertEquals("", seen[0]);
        }
    }
}
