package org.densenet.engine.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.densenet.kernels.KernelImage;
import org.junit.jupiter.api.Test;

/** The kernel emulator's table of entry points names exactly the kernels the fatbin holds, so a new kernel cannot go unemulated. */
class EmulatorKernelTableTest {
    @Test
    void emulatorTableMatchesTheManifest() throws IOException {
        String source;
        try (InputStream in = EmulatorKernelTableTest.class.getResourceAsStream("/org/densenet/engine/cuda/fake/cuda_emulator.cpp")) {
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<String> emulated = new ArrayList<>();
        Matcher m = Pattern.compile("^\\s*DN_KERNEL\\((\\w+)\\),", Pattern.MULTILINE).matcher(source);
        while (m.find()) emulated.add(m.group(1));
        assertEquals(new TreeSet<>(KernelImage.manifest().kernels()), new TreeSet<>(emulated),
                "add a DN_KERNEL(name) line to cuda_emulator.cpp's KERNELS for every kernel of the fatbin");
        assertEquals(emulated.size(), new TreeSet<>(emulated).size(), "a kernel listed twice in " + emulated);
    }
}
