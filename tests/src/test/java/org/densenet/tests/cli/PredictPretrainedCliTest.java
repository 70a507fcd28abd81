package org.densenet.tests.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.JsonCodec;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.DenseNet;
import org.densenet.model.MemoryMode;
import org.densenet.model.Weights;
import org.densenet.train.Checkpoint;
import org.densenet.train.data.Normalization;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What users do with trained weights: classify image files ({@code predict}) and fine-tune on another dataset ({@code --pretrained}). */
class PredictPretrainedCliTest {
    @TempDir
    static Path dir;
    static Path weights;

    @BeforeAll
    static void trainSmallCifar10Network() throws Exception {
        Path data = Cli.cifar10(dir.resolve("c10"), 16, 16, 5);
        Cli.Run r = Cli.run(dir, "train", "--data", data.toString(), "--depth", "10", "--growth", "4", "-b", "16", "--epochs", "1",
                "--device", "cpu", "--output", "base");
        assertEquals(0, r.exit(), r.all());
        weights = dir.resolve("base/last.safetensors");
    }

    /** A 32x32 RGB image with fresh random pixels, as 8-bit planes [3, 32, 32] and written to a PNG file. */
    private static byte[] randomPng(Path file, long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        byte[] planes = new byte[3 * 32 * 32];
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 32; x++) {
                int rgb = r.nextInt(1 << 24);
                img.setRGB(x, y, rgb);
                for (int c = 0; c < 3; c++) planes[c * 1024 + y * 32 + x] = (byte) (rgb >> (16 - 8 * c));
            }
        }
        ImageIO.write(img, "png", file.toFile());
        return planes;
    }

    @Test
    @SuppressWarnings("unchecked")
    void predictGivesTheNetworksSoftmaxWithCifarNamesAndReportsAnUnreadableImage() throws Exception {
        Path imgs = Files.createDirectories(dir.resolve("imgs"));
        byte[] a = randomPng(imgs.resolve("a.png"), 1), b = randomPng(imgs.resolve("b.png"), 2);
        Files.write(imgs.resolve("broken.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, 'x'});

        Cli.Run r = Cli.run(dir, "predict", "--weights", weights.toString(), imgs.toString(), "--json", "--device", "cpu");
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.err().contains("error: 1 of 3 images could not be read"), r.err());
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("decoder: ") && l.contains("full-size decode")),
                "predict says which decoder runs, as train and eval do: " + r.err());
        Map<String, Object> doc = (Map<String, Object>) JsonCodec.parse(r.out().strip());
        assertEquals("cifar10", doc.get("dataset"));
        List<Map<String, Object>> rows = (List<Map<String, Object>>) doc.get("images");
        assertEquals(3, rows.size());
        assertEquals(imgs.resolve("a.png").toString(), rows.get(0).get("file"));
        assertTrue(((String) rows.get(2).get("error")).contains("broken.jpg"), rows.get(2).toString());

        // The same images through the network directly: softmax of its logits, classes sorted by probability.
        List<String> names = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");
        double[][] expected = softmax(new byte[][] {a, b});
        for (int i = 0; i < 2; i++) {
            List<Map<String, Object>> top = (List<Map<String, Object>>) rows.get(i).get("top");
            assertEquals(5, top.size());
            double previous = 1;
            for (Map<String, Object> c : top) {
                int k = ((Number) c.get("class")).intValue();
                double p = ((Number) c.get("probability")).doubleValue();
                assertEquals(expected[i][k], p, 1e-6, "image " + i + " class " + k);
                assertEquals(names.get(k), c.get("name"));
                assertTrue(p <= previous, "most likely first");
                previous = p;
            }
            for (double p : expected[i]) assertTrue(p <= ((Number) top.get(4).get("probability")).doubleValue() + 1e-12
                    || contains(top, expected[i], p), "no class outside the top 5 is more likely");
        }

        Cli.Run text = Cli.run(dir, "predict", "--weights", weights.toString(), imgs.resolve("b.png").toString(), "--topk", "2",
                "--device", "cpu");
        assertEquals(0, text.exit(), text.all());
        List<String> lines = text.out().lines().toList();
        assertEquals(3, lines.size(), text.out());
        assertEquals(imgs.resolve("b.png").toString(), lines.get(0));
        assertTrue(lines.get(1).matches(" +\\d+\\.\\d\\d% {2}[a-z]+"), lines.get(1));

        Cli.Run none = Cli.run(dir, "predict", "--weights", weights.toString(), "no/such.png", "--device", "cpu");
        assertEquals(1, none.exit(), none.all());
        assertEquals("error: no/such.png: no such file or folder", none.err().strip());
        Cli.Run badK = Cli.run(dir, "predict", "--weights", weights.toString(), imgs.toString(), "--topk", "0");
        assertEquals(2, badK.exit(), badK.all());
    }

    private static Path fixture(String name) throws Exception {
        return Path.of(PredictPretrainedCliTest.class.getResource("/fixtures/" + name).toURI());
    }

    @Test
    @SuppressWarnings("unchecked")
    void aPyTorchCheckpointInTheLegacyFormatPredictsWhatPyTorchComputes() throws Exception {
        // densenet-bc-16-4 saved by torch.save's legacy writer as a DataParallel checkpoint dict, without num_batches_tracked
        Path pth = fixture("densenet-bc-16-4.pth.tar"), png = fixture("random-32x32.png");
        double[] expected = SafeTensors.read(fixture("densenet-bc-16-4-expected.safetensors")).get("probabilities").toDoubleArray();
        Cli.Run r = Cli.run(dir, "predict", "--weights", pth.toString(), "--depth", "16", "--growth", "4", "--dataset", "cifar10",
                "--topk", "10", "--json", "--device", "cpu", png.toString());
        assertEquals(0, r.exit(), r.all());
        List<Map<String, Object>> top = (List<Map<String, Object>>) ((List<Map<String, Object>>) ((Map<String, Object>)
                JsonCodec.parse(r.out().strip())).get("images")).getFirst().get("top");
        assertEquals(10, top.size());
        for (Map<String, Object> c : top) {
            int k = ((Number) c.get("class")).intValue();
            assertEquals(expected[k], ((Number) c.get("probability")).doubleValue(), 1e-5, "class " + k);
        }
        Cli.Run none = Cli.run(dir, "predict", "--weights", pth.toString(), png.toString(), "--device", "cpu");
        assertEquals(2, none.exit(), none.all());
        assertTrue(none.err().contains("does not say which DenseNet it holds") && none.err().contains("--model or --depth"), none.err());
    }

    private static boolean contains(List<Map<String, Object>> top, double[] p, double v) {
        for (Map<String, Object> c : top) if (p[((Number) c.get("class")).intValue()] == v) return true;
        return false;
    }

    private static double[][] softmax(byte[][] images) throws Exception {
        SafeTensors.Contents c = SafeTensors.load(weights);
        try (CpuBackend cpu = new CpuBackend(1); DenseNet net = new DenseNet(Weights.readConfig(weights, c.metadata()), cpu, MemoryMode.SHARED, 0);
             Tensor x = cpu.allocate(DType.F32, images.length, 3, 32, 32)) {
            net.parameters().loadStateDict(Checkpoint.weightsOnly(c.tensors()));
            byte[] all = new byte[images.length * 3072];
            for (int i = 0; i < images.length; i++) System.arraycopy(images[i], 0, all, i * 3072, 3072);
            cpu.uploadImages(all, x, Normalization.CIFAR10.forUpload());
            float[] logits = new float[images.length * 10];
            cpu.download(net.forward(x, false), logits);
            double[][] p = new double[images.length][10];
            for (int i = 0; i < images.length; i++) {
                double sum = 0;
                for (int k = 0; k < 10; k++) sum += p[i][k] = Math.exp(logits[i * 10 + k]);
                for (int k = 0; k < 10; k++) p[i][k] /= sum;
            }
            return p;
        }
    }

    @Test
    void fineTuningOnAnotherDatasetKeepsTheFeaturesAndRecreatesTheClassifier() throws Exception {
        Path c100 = Files.createDirectories(dir.resolve("c100"));
        SplittableRandom r = new SplittableRandom(9);
        for (String f : new String[] {"train.bin", "test.bin"}) {
            try (OutputStream out = Files.newOutputStream(c100.resolve(f))) {
                byte[] rec = new byte[3074];
                for (int i = 0; i < 32; i++) {
                    int label = r.nextInt(100);
                    rec[0] = (byte) (label / 5);
                    rec[1] = (byte) label;
                    for (int j = 2; j < rec.length; j++) rec[j] = (byte) r.nextInt(256);
                    out.write(rec);
                }
            }
        }
        Cli.Run ft = Cli.run(dir, "train", "--pretrained", weights.toString(), "--data", c100.toString(), "--dataset", "cifar100",
                "-b", "16", "--epochs", "1", "--max-steps", "1", "--lr", "1e-30", "--device", "cpu", "--output", "ft");
        assertEquals(0, ft.exit(), ft.all());
        assertTrue(ft.out().contains("pretrained: starting from " + weights), ft.out());
        assertTrue(ft.out().contains("pretrained: the file's classifier has 10 classes, this run 100: a new classifier is trained"), ft.out());
        assertTrue(ft.out().contains("\ndensenet-bc-10-4 "), "the network the file describes, without --model: " + ft.out());

        Path last = dir.resolve("ft/last.safetensors");
        Map<String, String> meta = SafeTensors.readMetadata(last);
        assertEquals(weights.toAbsolutePath().normalize().toString(), meta.get("config.pretrained"));
        assertTrue(meta.get(Checkpoint.CLASS_NAMES).startsWith("apple\naquarium_fish\nbaby"), meta.get(Checkpoint.CLASS_NAMES));
        Map<String, HostTensor> before = SafeTensors.read(weights), after = SafeTensors.read(last);
        String conv = "features.denseblock1.denselayer1.conv1.weight";
        float[] w0 = before.get(conv).toFloatArray(), w1 = after.get(conv).toFloatArray();
        for (int i = 0; i < w0.length; i++) assertEquals(w0[i], w1[i], 1e-6f, conv + "[" + i + "] kept (one step at lr 1e-30)");
        assertArrayEquals(new int[] {100, before.get("classifier.weight").shape()[1]}, after.get("classifier.weight").shape());

        Cli.Run both = Cli.run(dir, "train", "--pretrained", weights.toString(), "--resume", "ft/last.safetensors");
        assertEquals(2, both.exit(), both.all());
        assertTrue(both.err().startsWith("error: --pretrained starts a new run from weights, --resume continues a run"), both.err());
    }
}
