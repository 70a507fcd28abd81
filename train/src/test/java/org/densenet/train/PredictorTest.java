package org.densenet.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.densenet.engine.DType;
import org.densenet.engine.Tensor;
import org.densenet.engine.cpu.CpuBackend;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.train.data.Normalization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prediction for a grey (Fashion-MNIST-style) network: colour files become grey as PIL's convert("L") makes them. */
class PredictorTest {
    @TempDir
    Path dir;

    @Test
    void colourImagesAreTurnedGreyByPilsWeightsAndGiveTheNetworksSoftmax() throws Exception {
        SplittableRandom r = new SplittableRandom(3);
        BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
        byte[] grey = new byte[28 * 28];
        for (int i = 0; i < grey.length; i++) {
            int red = r.nextInt(256), green = r.nextInt(256), blue = r.nextInt(256);
            img.setRGB(i % 28, i / 28, red << 16 | green << 8 | blue);
            // PIL's convert("L"): L = R * 299/1000 + G * 587/1000 + B * 114/1000, in its 16-bit fixed point
            grey[i] = (byte) ((red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16);
        }
        img.setRGB(0, 0, 0xFF0000);
        grey[0] = 76;  // PIL gives 76 for pure red
        Path file = dir.resolve("colour.png");
        ImageIO.write(img, "png", file.toFile());
        Files.write(dir.resolve("not-an-image.png"), new byte[] {1, 2, 3});

        DenseNetConfig c = DenseNetConfig.cifar(10, 4, true, 0.5, 0, 10).withInChannels(1);
        try (CpuBackend cpu = new CpuBackend(1); DenseNet net = new DenseNet(c, cpu, MemoryMode.SHARED, 5);
             Predictor p = new Predictor(net, 28, 28, Normalization.FASHION_MNIST, 4, 3, 2)) {
            List<Predictor.Result> out = p.predict(List.of(file, dir.resolve("not-an-image.png")), null);
            assertEquals(2, out.size());
            assertTrue(out.get(1).error().contains("not-an-image.png"), out.get(1).error());
            Predictor.Result got = out.getFirst();
            assertNull(got.error());

            float[] logits = new float[10];
            try (Tensor x = cpu.allocate(DType.F32, 1, 1, 28, 28)) {
                cpu.uploadImages(grey, x, Normalization.FASHION_MNIST.forUpload());
                cpu.download(net.forward(x, false), logits);
            }
            double sum = 0;
            for (float l : logits) sum += Math.exp(l);
            for (int i = 0; i < 3; i++) {
                int k = got.classes()[i];
                assertEquals(Math.exp(logits[k]) / sum, got.probabilities()[i], 1e-6, "class " + k);
                if (i > 0) assertTrue(got.probabilities()[i] <= got.probabilities()[i - 1], "most likely first");
            }
            for (float l : logits) assertTrue(Math.exp(l) / sum <= got.probabilities()[2] + 1e-12 || contains(got.classes(), logits, l));
        }
    }

    private static boolean contains(int[] classes, float[] logits, float l) {
        for (int k : classes) if (logits[k] == l) return true;
        return false;
    }
}
