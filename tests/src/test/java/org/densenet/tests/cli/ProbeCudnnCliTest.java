package org.densenet.tests.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.densenet.engine.cuda.EmulatedGpu;
import org.densenet.engine.io.JsonCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench probe-cudnn} end to end on the null device (the stand-in cuDNN found by the library
 * search, work checked and dropped), at the kit's full size: densenet121 at 224 pixels and
 * densenet-bc-100-12, batch 64. The stand-in computes NCHW filters only (float32 or 16 bits), so
 * NCHW rows have its scripted time and every NHWC row is a recorded refusal; on a GPU the same
 * tables hold cuDNN's answers.
 */
class ProbeCudnnCliTest {
    @TempDir
    Path dir;

    @Test
    @SuppressWarnings("unchecked")
    void probesEveryVariantOfBothNetworksAndRecordsRefusals() throws Exception {
        String libs = EmulatedGpu.nullDeviceFolder().toString();
        Cli.Run r = Cli.run(dir, Map.of("LD_LIBRARY_PATH", libs, "DENSENET_CUDA_LIBS", libs), "bench", "probe-cudnn", "--json");
        assertEquals(0, r.exit(), r.all());
        Map<String, Object> json = (Map<String, Object>) JsonCodec.parse(r.out());
        Map<String, Object> tables = (Map<String, Object>) json.get("tables");
        List<Map<String, Object>> rows = (List<Map<String, Object>>) tables.get("results");
        // densenet121: conv0 + 4 x (3 conv1 + conv2) + 3 transitions = 20; bc-100-12: conv0 + 3 x 4 + 2 = 15.
        // Slice problems (conv0 of bc, conv1 and conv2 of both) get 10 variants, packed ones 5; 3 passes each.
        int slices = 4 * 4 + 1 + 3 * 4, packed = 20 + 15 - slices;
        assertEquals(3 * (10 * slices + 5 * packed), rows.size(), "rows");
        assertTrue(!tables.containsKey("not probed (time budget spent)"), "the null device probes everything within the budget");
        int nchw = 0, refusedAlgos = 0;
        for (Map<String, Object> row : rows) {
            String variant = (String) row.get("variant");
            if (!variant.toLowerCase(java.util.Locale.ROOT).contains("nhwc")) {
                assertEquals(0.1, ((Number) row.get("best_ms")).doubleValue(), 1e-6, row.toString());
                nchw++;
            } else {
                assertEquals(null, row.get("best_ms"), row.toString());
                assertTrue(((String) row.get("find_ok")).startsWith("none of "), row.toString());
                refusedAlgos++;
            }
        }
        // FP32 NCHW (packed, slice), FP16 and BF16 NCHW (packed, slice): six variants of a slice problem, three of a packed one
        assertEquals(3 * (6 * slices + 3 * packed), nchw);
        assertTrue(refusedAlgos > 0);
        List<Map<String, Object>> algos = (List<Map<String, Object>>) tables.get("algorithms");
        assertTrue(algos.stream().anyMatch(a -> "CUDNN_STATUS_NOT_SUPPORTED".equals(a.get("status")) && "find".equals(a.get("source"))));
        assertTrue(r.out().contains("CUDA emulator") && r.out().contains("\"graph_api\""), r.out().substring(0, 400));
    }

    @Test
    void theCpuIsAUsageError() throws Exception {
        Cli.Run r = Cli.run(dir, "bench", "probe-cudnn", "--device", "cpu");
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.err().contains("probe-cudnn measures cuDNN on a GPU"), r.all());
    }
}
