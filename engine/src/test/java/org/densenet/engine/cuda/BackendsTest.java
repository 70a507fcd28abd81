package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.densenet.engine.Backend;
import org.densenet.engine.Backends;
import org.densenet.engine.Backends.Spec;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.cuda.ffm.CudaLibraries;
import org.densenet.engine.cuda.ffm.LibraryLoader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class BackendsTest {

    @Test
    void deviceSpecsParse() {
        assertEquals(new Spec(Spec.Kind.AUTO, 0), Spec.parse("auto"));
        assertEquals(new Spec(Spec.Kind.CPU, 0), Spec.parse(" CPU "));
        assertEquals(new Spec(Spec.Kind.CUDA, 0), Spec.parse("cuda"));
        assertEquals(new Spec(Spec.Kind.CUDA, 3), Spec.parse("cuda:3"));
        assertEquals("cuda:3", Spec.parse("cuda:3").toString());
    }

    @Test
    void badDeviceSpecsSayWhatIsAccepted() {
        for (String bad : new String[] {"cuda:-1", "cuda:x", "cuda:", "cuda:1.5", "cuda:99999999999"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Spec.parse(bad), bad);
            assertTrue(e.getMessage().contains("must be a number >= 0, e.g. cuda:0"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Spec.parse("tpu"));
        assertEquals("device 'tpu' is not one of auto, cpu, cuda, cuda:N", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Spec(Spec.Kind.CPU, 1));
    }

    @Test
    void cpuIsAlwaysTheCpu() {
        try (Backend b = Backends.create("cpu", new PrintStream(new ByteArrayOutputStream()))) {
            assertInstanceOf(CpuBackend.class, b);
        }
    }

    @Test
    void tf32OnTheCpuIsSaidToHaveNoEffect() {
        ByteArrayOutputStream notes = new ByteArrayOutputStream();
        try (Backend b = Backends.create("cpu", true, new PrintStream(notes, true, StandardCharsets.UTF_8))) {
            assertInstanceOf(CpuBackend.class, b);
        }
        assertEquals("TF32 has no effect on the CPU, which computes in float32" + System.lineSeparator(), notes.toString(StandardCharsets.UTF_8));
        ByteArrayOutputStream quiet = new ByteArrayOutputStream();
        try (Backend b = Backends.create("cpu", false, new PrintStream(quiet, true, StandardCharsets.UTF_8))) {
            assertInstanceOf(CpuBackend.class, b);
        }
        assertEquals("", quiet.toString(StandardCharsets.UTF_8));
    }

    /** The rest holds on machines without a driver, such as CI; a GPU machine runs the gpu-tagged tests instead. */
    private static String noDriverReason() {
        try {
            CudaLibraries.driver();
        } catch (LibraryLoader.NotLoadable e) {
            return e.getMessage();
        }
        Assumptions.abort("an NVIDIA driver is present; the fallback messages are tested on machines without one");
        return null;
    }

    @Test
    void autoFallsBackToTheCpuWithOneLineNamingLibcuda() {
        String reason = noDriverReason();
        ByteArrayOutputStream notes = new ByteArrayOutputStream();
        try (Backend b = Backends.create("auto", new PrintStream(notes, true, StandardCharsets.UTF_8))) {
            assertInstanceOf(CpuBackend.class, b);
        }
        String text = notes.toString(StandardCharsets.UTF_8);
        assertEquals(1, text.lines().count(), text);
        assertTrue(text.startsWith("using the CPU: NVIDIA driver not found: no libcuda.so.1 in the loader path"), text);
        assertTrue(text.contains("DENSENET_CUDA_LIBS"), text);
        assertTrue(text.contains(reason), text);
    }

    @Test
    void cudaInsistsWithTheSameOneLineReason() {
        String reason = noDriverReason();
        for (String spec : new String[] {"cuda", "cuda:0", "cuda:7"}) {
            CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                    () -> Backends.create(spec, new PrintStream(new ByteArrayOutputStream())));
            assertEquals(reason, e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        }
    }

    @Test
    void devicesListTheCpuAndWhyCudaIsNotUsable() {
        String reason = noDriverReason();
        List<String> lines = Backends.describeDevices();
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("cpu ("), lines.get(0));
        assertEquals("cuda: not usable: " + reason, lines.get(1));
    }
}
