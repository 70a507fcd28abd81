package org.densenet.cli.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.densenet.cli.InProcess;
import org.densenet.cli.InProcess.Run;
import org.densenet.engine.io.JsonCodec;
import org.densenet.train.data.ArrayDataset;
import org.densenet.train.data.BatchLoader;
import org.densenet.train.data.Normalization;
import org.densenet.train.data.PadCropFlip;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code bench data}: what it counts, and the command line. */
class DataBenchTest {
    private static ArrayDataset tiny(int n) {
        byte[] px = new byte[n * 3 * 8 * 8];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7);
        return new ArrayDataset("tiny", 2, 3, 8, 8, px, new int[n]);
    }

    @Test
    void drainCountsTheImagesOfTheTimedBatchesAcrossEpochs() {
        // 10 images in batches of 4: 4, 4, 2 per epoch. One warm-up batch, then five timed:
        // epoch 0's second and third (4 + 2), epoch 1's three (4 + 4 + 2) = 16 images.
        var setup = new DataBench.Setup(tiny(10), PadCropFlip.eval(3, 8, Normalization.HALF), "as stored", 4, new int[] {1}, 1, 5, 7);
        try (BatchLoader loader = new BatchLoader(setup.data(), setup.transform(), 4, 2)) {
            DataBench.Throughput t = DataBench.drain(loader, setup);
            assertEquals(2, t.workers());
            assertEquals(5, t.batches());
            assertEquals(16, t.images());
            assertEquals(5, t.perBatch().count());
            assertTrue(t.nanos() > 0 && t.perBatch().median() > 0);
            assertEquals(t.images() * 1e9 / t.nanos(), t.imagesPerSecond(), 1e-9);
        }
    }

    @Test
    void stagesTimeTheFirstImagesOfTheEpochsOrder() {
        var setup = new DataBench.Setup(tiny(40), new PadCropFlip(3, 8, 8, 4, true, Normalization.HALF), "pad 4", 8, new int[] {1}, 0, 1, 7);
        DataBench.Stages s = DataBench.stages(setup);
        assertEquals(16, s.samples(), "at least 16 images, or the batch when larger");
        assertEquals(0, s.skipped());
        assertTrue(s.loadNanos() > 0 && s.transformNanos() > 0);
        assertEquals(1e9 / (s.loadNanos() + s.transformNanos()), s.imagesPerSecond(), 1e-6);
    }

    @Test
    void setupRefusesNonsense() {
        var data = tiny(4);
        var t = PadCropFlip.eval(3, 8, Normalization.HALF);
        assertThrows(IllegalArgumentException.class, () -> new DataBench.Setup(data, t, "", 0, new int[] {1}, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new DataBench.Setup(data, t, "", 1, new int[] {}, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new DataBench.Setup(data, t, "", 1, new int[] {2, 0}, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new DataBench.Setup(data, t, "", 1, new int[] {1}, -1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new DataBench.Setup(data, t, "", 1, new int[] {1}, 0, 0, 1));
    }

    @Test
    void defaultWorkerCountsArePowersOfTwoThenTheCores() {
        assertArrayEquals(new int[] {1}, DataCommand.defaultWorkers(1));
        assertArrayEquals(new int[] {1, 2}, DataCommand.defaultWorkers(2));
        assertArrayEquals(new int[] {1, 2, 4, 6}, DataCommand.defaultWorkers(6));
        assertArrayEquals(new int[] {1, 2, 4, 8, 16}, DataCommand.defaultWorkers(16));
    }

    @Test
    @SuppressWarnings("unchecked")
    void commandReportsStagesAndOneRowPerWorkerCount() {
        Run r = InProcess.run("bench", "data", "--dataset", "synthetic", "--image-size", "16", "-b", "16", "-j", "1,2",
                "--warmup", "1", "--batches", "3", "--json");
        assertEquals(0, r.status(), r.all());
        Map<String, Object> doc = (Map<String, Object>) JsonCodec.parse(r.out().strip());
        assertTrue(((String) ((Map<String, Object>) doc.get("run")).get("device")).contains("input pipeline only"));
        Map<String, Object> notes = (Map<String, Object>) doc.get("notes");
        assertEquals("3x16x16", notes.get("output"));
        assertEquals(1024L, ((Number) notes.get("images")).longValue(), "the synthetic training split");
        Map<String, Object> tables = (Map<String, Object>) doc.get("tables");
        List<Map<String, Object>> stages = (List<Map<String, Object>>) tables.get("stages");
        assertEquals(List.of("load (read, decode)", "transform (augment)", "all"), stages.stream().map(m -> m.get("stage")).toList());
        double load = ((Number) stages.get(0).get("ms_per_image")).doubleValue(), transform = ((Number) stages.get(1).get("ms_per_image")).doubleValue();
        assertEquals(load + transform, ((Number) stages.get(2).get("ms_per_image")).doubleValue(), 1e-9);
        List<Map<String, Object>> loader = (List<Map<String, Object>>) tables.get("loader");
        assertEquals(List.of(1L, 2L), loader.stream().map(m -> ((Number) m.get("workers")).longValue()).toList());
        double best = 0;
        for (Map<String, Object> row : loader) {
            assertEquals(3L, ((Number) row.get("batches")).longValue());
            assertEquals(48L, ((Number) row.get("images")).longValue(), "3 full batches of 16");
            double ips = ((Number) row.get("images_per_s")).doubleValue();
            assertEquals(48 / ((Number) row.get("seconds")).doubleValue(), ips, 1e-6 * ips);
            best = Math.max(best, ips);
        }
        assertEquals(best, ((Number) notes.get("best_images_per_s")).doubleValue(), 1e-9);

        Run text = InProcess.run("bench", "data", "--dataset", "synthetic", "--image-size", "8", "--split", "test", "-b", "8", "-j", "1",
                "--batches", "2");
        assertEquals(0, text.status(), text.all());
        assertTrue(text.out().contains("bench data: synthetic test, 256 images, batch 8") && text.out().contains("output: 8-bit 3x8x8 per image: as stored (normalised on upload)"),
                text.out());
    }

    @Test
    void usageMistakesExitWithStatusTwo() {
        assertEquals(2, InProcess.run("bench", "data", "--dataset", "synthetic", "--split", "validation").status());
        assertEquals(2, InProcess.run("bench", "data", "--dataset", "synthetic", "-j", "0").status());
        assertEquals(2, InProcess.run("bench", "data", "--dataset", "synthetic", "--batches", "0").status());
        assertEquals(2, InProcess.run("bench", "data", "--dataset", "synthetic", "--split", "test", "--no-augment").status());
        assertEquals(2, InProcess.run("bench", "data", "--dataset", "synthetic", "--json", "--csv").status());
        Run none = InProcess.run("bench", "data", "--dataset", "imagenet");
        assertEquals(1, none.status(), "a data error: " + none.all());
        assertTrue(none.err().contains("--data DIR"), none.err());
    }

    @Test
    @SuppressWarnings("unchecked")
    void decodersAreComparedInTurnsForEveryRound(@TempDir Path dir) throws Exception {
        try {
            org.densenet.train.data.ffm.TurboJpeg.load();
        } catch (org.densenet.engine.cuda.ffm.LibraryLoader.NotLoadable e) {
            Assumptions.abort("libjpeg-turbo is not usable here (install Debian's libturbojpeg0): " + e.getMessage());
        }
        Path cls = Files.createDirectories(dir.resolve("train/n01"));
        for (int i = 0; i < 6; i++) {
            BufferedImage img = new BufferedImage(300 + 40 * i, 240, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 240; y++) for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, (x * 255 / img.getWidth()) << 16 | y << 8 | i * 40);
            ImageIO.write(img, "jpg", cls.resolve("i" + i + ".JPEG").toFile());
        }
        Run r = InProcess.run("bench", "data", "--dataset", "imagenet", "--data", dir.toString(), "-b", "2", "-j", "1,2", "--warmup", "0",
                "--batches", "1", "--decoder", "turbo,imageio", "--rounds", "2", "--json");
        assertEquals(0, r.status(), r.all());
        Map<String, Object> doc = (Map<String, Object>) JsonCodec.parse(r.out().strip());
        List<Map<String, Object>> loader = (List<Map<String, Object>>) ((Map<String, Object>) doc.get("tables")).get("loader");
        assertEquals(List.of("turbo 1 1", "imageio 1 1", "turbo 1 2", "imageio 1 2", "turbo 2 1", "imageio 2 1", "turbo 2 2", "imageio 2 2"),
                loader.stream().map(m -> m.get("decoder") + " " + m.get("round") + " " + m.get("workers")).toList());
        List<Map<String, Object>> stages = (List<Map<String, Object>>) ((Map<String, Object>) doc.get("tables")).get("stages");
        List<Map<String, Object>> first = stages.subList(0, 5);
        assertEquals(List.of("turbo read (file to memory)", "turbo decode (to pixels)", "turbo rest of load", "turbo crop+resample (transform)", "turbo all"),
                first.stream().map(m -> m.get("decoder") + " " + m.get("stage")).toList(), "an image folder's load in its parts");
        double parts = 0;
        for (Map<String, Object> m : first.subList(0, 4)) parts += ((Number) m.get("ms_per_image")).doubleValue();
        assertEquals(((Number) first.get(4).get("ms_per_image")).doubleValue(), parts, 1e-9, "the parts add up to the whole");
        assertTrue(((Number) first.get(1).get("ms_per_image")).doubleValue() > 0);
        assertEquals(20, stages.size(), "five rows for each decoder and round");
        for (Map<String, Object> row : loader) {
            assertTrue(row.containsKey("cpu_ms_per_image") && row.containsKey("rest_cpu_ms"), row.toString());
        }
        for (int i : new int[] {1, 3, 4}) {
            assertTrue(((Number) first.get(i).get("cpu_ms_per_image")).doubleValue() > 0, "the thread's CPU time: " + first.get(i));
        }
        Map<String, Object> notes = (Map<String, Object>) doc.get("notes");
        assertTrue(((String) notes.get("ratio")).matches("turbo / imageio: [0-9.]+x with 1 worker, [0-9.]+x with 2 workers \\(medians of 2 rounds\\)"),
                (String) notes.get("ratio"));
        assertTrue(((String) notes.get("decoder_turbo")).startsWith("decoder: libjpeg-turbo from "), (String) notes.get("decoder_turbo"));
        assertEquals(2, InProcess.run("bench", "data", "--dataset", "synthetic", "--decoder", "turbo,imageio").status(),
                "decoders compare only for files");
        assertEquals(2, InProcess.run("bench", "data", "--dataset", "synthetic", "--decoder", "jpeg").status());
    }
}
