package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.densenet.cli.InProcess;
import org.densenet.cli.InProcess.Run;
import org.densenet.engine.io.JsonCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bench subcommands through the real command line, on the CPU, with a tiny network. */
class BenchCommandTest {
    private static Run run(String... args) {
        return InProcess.run(args);
    }

    private static final String[] TINY = {"--device", "cpu", "--depth", "10", "--growth", "4", "-b", "2", "--image-size", "8",
            "--warmup", "1", "--repeats", "3"};

    private static String[] args(String sub, String... more) {
        String[] a = new String[2 + TINY.length + more.length];
        a[0] = "bench";
        a[1] = sub;
        System.arraycopy(TINY, 0, a, 2, TINY.length);
        System.arraycopy(more, 0, a, 2 + TINY.length, more.length);
        return a;
    }

    @Test
    @SuppressWarnings("unchecked")
    void stepJsonCarriesTheRunHeaderAndEveryMode() {
        Run r = run(args("step", "--compare-memory", "--json"));
        assertEquals(0, r.status(), r.err());
        Map<String, Object> doc = (Map<String, Object>) JsonCodec.parse(r.out().strip());
        Map<String, Object> runInfo = (Map<String, Object>) doc.get("run");
        assertTrue(((String) runInfo.get("device")).startsWith("cpu"));
        assertTrue(runInfo.containsKey("commit") && runInfo.containsKey("date") && runInfo.containsKey("java"));
        List<Map<String, Object>> steps = (List<Map<String, Object>>) ((Map<String, Object>) doc.get("tables")).get("steps");
        assertEquals(6, steps.size());
        assertEquals(List.of("naive", "naive", "shared", "shared", "recompute", "recompute"), steps.stream().map(m -> m.get("mode")).toList());
        for (Map<String, Object> s : steps) {
            assertEquals("densenet-bc-10-4", s.get("model"));
            assertTrue(((Number) s.get("median_ms")).doubleValue() > 0);
            assertTrue(((Number) s.get("peak_memory_bytes")).longValue() > 0);
        }
    }

    @Test
    void anFp16StepScalesItsLossAsTheTrainerDoes() {
        Run csv = run(args("ops", "--precision", "fp16", "--per-call", "--csv"));
        assertEquals(0, csv.status(), csv.err());
        List<String> rows = csv.out().lines().filter(l -> !l.startsWith("#")).toList();
        assertEquals(1, rows.stream().filter(l -> l.startsWith("loss,loss_scale,")).count(), "the loss gradient scaled once: " + rows);
        assertEquals(1, rows.stream().filter(l -> l.startsWith("sgd,grad_check,")).count(), "the gradients checked once: " + rows);
        Run fp32 = run(args("ops", "--per-call", "--csv"));
        assertEquals(0, fp32.out().lines().filter(l -> l.contains(",loss_scale,") || l.contains(",grad_check,")).count(), "fp32 needs no scaling");
    }

    @Test
    void opsTextGroupsByScopeAndCsvHasOneRowPerCall() {
        Run text = run(args("ops", "--memory", "naive"));
        assertEquals(0, text.status(), text.err());
        assertTrue(text.out().contains("device:  cpu"), text.out());
        assertTrue(text.out().contains("commit:  "), text.out());
        assertTrue(text.out().contains("-- fwd/features.denseblock1"), text.out());
        assertTrue(text.out().contains("-- bwd/features.transition2"), text.out());
        assertTrue(text.out().contains("peak bandwidth: "), text.out());

        Run csv = run(args("ops", "--per-call", "--csv"));
        assertEquals(0, csv.status(), csv.err());
        List<String> rows = csv.out().lines().filter(l -> !l.startsWith("#")).toList();
        assertTrue(rows.getFirst().startsWith("scope,op,calls,kernels,shapes,median_ms"), rows.getFirst());
        long convs = rows.stream().filter(l -> l.startsWith("fwd/") && l.contains(",conv_fwd,")).count();
        assertEquals(9, convs, "one CSV row per forward convolution");
    }

    @Test
    void memoryWritesItsPlotAndTable(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("mem.png");
        Run r = run("bench", "memory", "--device", "cpu", "--growth", "4", "--depths", "10,16", "-b", "2", "--image-size", "8",
                "--plot", png.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.size(png) > 1000);
        assertTrue(r.out().contains("shared/naive") && r.out().contains("recompute/naive"), r.out());
        Run plain = run("bench", "memory", "--device", "cpu", "--model-family", "densenet", "--growth", "4", "--depths", "10,13", "-b", "2",
                "--image-size", "8", "--no-plot");
        assertEquals(0, plain.status(), plain.err());
        assertTrue(plain.out().contains("shared/naive") && !plain.out().contains("recompute"), "no bottleneck, nothing to recompute: " + plain.out());
    }

    @Test
    void stepSkipsAModeThatDoesNotFitAndFailsWhenNoneDoes() {
        // densenet-bc-190-40 at batch 1024: 363 GiB naive, 57 GiB shared, 32 GiB recompute; checked before anything is allocated
        Run r = run("bench", "step", "--device", "cpu", "--model", "densenet-bc-190-40", "-b", "1024", "--memory", "naive");
        assertEquals(1, r.status(), r.out() + r.err());
        assertTrue(r.err().contains("needs about 362.") && r.err().contains("naive memory mode"), r.err());
        long heap = Runtime.getRuntime().maxMemory();
        org.junit.jupiter.api.Assumptions.assumeTrue(heap < 32L << 30, "the compare-memory case needs a heap below 32 GiB; this one is " + heap);
        Run all = run("bench", "step", "--device", "cpu", "--model", "densenet-bc-190-40", "-b", "1024", "--compare-memory");
        assertEquals(1, all.status(), all.out() + all.err());
        assertTrue(all.err().contains("recompute memory mode"), "the last mode's reason: " + all.err());
    }

    @Test
    @SuppressWarnings("unchecked")
    void memorySweepStopsAtTheFirstDepthThatDoesNotFitAndFailsWhenTheFirstDoesNot() {
        // densenet-bc-1204-40 at batch 64 on 8x8 images: tens of GiB in naive mode, checked before anything is allocated
        Run r = run("bench", "memory", "--device", "cpu", "--growth", "40", "--depths", "10,1204,2404", "-b", "64", "--image-size", "8",
                "--no-plot", "--json");
        assertEquals(0, r.status(), r.err());
        Map<String, Object> doc = (Map<String, Object>) JsonCodec.parse(r.out().strip());
        List<Map<String, Object>> rows = (List<Map<String, Object>>) ((Map<String, Object>) doc.get("tables")).get("memory");
        assertEquals(List.of(10L), rows.stream().map(m -> ((Number) m.get("depth")).longValue()).toList(), "only depth 10 measured");
        String stopped = (String) ((Map<String, Object>) doc.get("notes")).get("stopped");
        assertTrue(stopped.startsWith("depth 1204 and beyond not measured: densenet-bc-1204-40 needs about"), stopped);

        Run none = run("bench", "memory", "--device", "cpu", "--growth", "40", "--depths", "1204", "-b", "64", "--image-size", "8", "--no-plot");
        assertEquals(1, none.status(), none.out() + none.err());
        assertTrue(none.err().contains("densenet-bc-1204-40 needs about") && none.err().contains("naive memory mode"), none.err());
    }

    @Test
    void usageMistakesExitWithStatusTwo() {
        Run bad = run(args("step", "--memory", "sometimes"));
        assertEquals(2, bad.status());
        assertTrue(bad.err().contains("naive, shared or recompute"), bad.err());
        assertEquals(2, run(args("ops", "--json", "--csv")).status());
        assertEquals(2, run("bench", "memory", "--device", "cpu", "--depths", "10,12").status(), "12 is not 6n+4");
        assertEquals(2, run("bench", "memory", "--device", "cpu", "--depths", "16,10").status(), "depths must ascend");
    }
}
