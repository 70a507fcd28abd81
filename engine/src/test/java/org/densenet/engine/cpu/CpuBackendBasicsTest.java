package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.OpTesting.slice;
import static org.densenet.engine.cpu.OpTesting.tensor;
import static org.densenet.engine.cpu.OpTesting.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.densenet.engine.Backend;
import org.densenet.engine.CounterRng;
import org.densenet.engine.DType;
import org.densenet.engine.ImageNormalization;
import org.densenet.engine.LossResult;
import org.densenet.engine.MemoryStats;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Allocation and memory counting, transfers, and the documented choices of loss and dropout. */
class CpuBackendBasicsTest {
    private final CpuBackend b = new CpuBackend(2);

    @AfterEach
    void close() {
        b.close();
    }

    @Test
    void availableMemoryIsTheHeapLeftAndShrinksByWhatIsHeld() {
        long max = Runtime.getRuntime().maxMemory();
        long before = b.availableMemoryBytes();
        assertTrue(before > 0 && before <= max, before + " of " + max);
        long held;
        try (Tensor t = b.allocate(DType.F32, 16 << 20)) {   // 64 MiB
            held = before - b.availableMemoryBytes();
        }
        // after a collection the drop is the tensor, give or take what the rest of the JVM did meanwhile
        assertEquals(64 << 20, held, 16 << 20, "available fell by " + held);
        assertTrue(b.memoryLimitNote().contains("-Xmx"), b.memoryLimitNote());
    }

    /**
     * 8-bit images uploaded as torchvision's ToTensor then Normalize compute them in float32:
     * (v / 255 - mean) / std, per channel, every byte read as unsigned, only the first numel bytes.
     */
    @Test
    void uploadImagesNormalisesEachChannelAsTorchvisionDoes() {
        int n = 2, c = 3, h = 5, w = 4, count = n * c * h * w;
        byte[] px = new byte[count + 7];
        java.util.Random rng = new java.util.Random(3);
        rng.nextBytes(px);
        px[0] = (byte) 255;
        px[1] = 0;
        ImageNormalization norm = new ImageNormalization(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});
        try (Tensor t = b.allocate(DType.F32, n, c, h, w)) {
            b.uploadImages(px, t, norm);
            float[] got = new float[count];
            b.download(t, got);
            for (int i = 0; i < count; i++) {
                int ch = i / (h * w) % c, v = px[i] & 0xFF;
                float want = ((float) v / 255f - norm.mean()[ch]) / norm.std()[ch];
                assertEquals(want, got[i], 0f, "element " + i);
                assertEquals((v / 255.0 - norm.mean()[ch]) / norm.std()[ch], got[i], 1e-6, "element " + i + " against double arithmetic");
            }
            assertEquals((1 - 0.485f) / 0.229f, got[0], 1e-6, "255 is 1 before normalising");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.uploadImages(new byte[count - 1], t, norm));
            assertTrue(e.getMessage().contains((count - 1) + " bytes"), e.getMessage());
            ImageNormalization grey = new ImageNormalization(new float[] {0.5f}, new float[] {0.5f});
            e = assertThrows(IllegalArgumentException.class, () -> b.uploadImages(px, t, grey));
            assertTrue(e.getMessage().contains("3 channels"), e.getMessage());
            try (Tensor slice = t.narrow(1, 0, 1)) {
                e = assertThrows(IllegalArgumentException.class, () -> b.uploadImages(px, slice, grey));
                assertTrue(e.getMessage().contains("contiguous"), e.getMessage());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new ImageNormalization(new float[] {0.5f}, new float[] {0f}));
        assertThrows(IllegalArgumentException.class, () -> new ImageNormalization(new float[5], new float[5]));
    }

    @Test
    void liveBytesFollowAllocationsExactlyAndPeakIsTheMaximum() {
        MemoryStats start = b.memoryStats();
        Tensor a = b.allocate(DType.F32, 10, 10);
        Tensor d = b.allocate(DType.F64, 3);
        Tensor i = b.allocate(DType.I32, 5);
        assertEquals(start.liveBytes() + 400 + 24 + 20, b.memoryStats().liveBytes());
        a.narrow(0, 0, 1).close();
        a.reshape(100).close();    // views free nothing
        assertEquals(start.liveBytes() + 444, b.memoryStats().liveBytes());
        a.close();
        a.close();
        assertEquals(start.liveBytes() + 44, b.memoryStats().liveBytes());
        assertEquals(start.liveBytes() + 444, b.memoryStats().peakBytes());
        b.resetPeakMemory();
        assertEquals(new MemoryStats(start.liveBytes() + 44, start.liveBytes() + 44), b.memoryStats());
        d.close();
        i.close();
        assertEquals(start.liveBytes(), b.memoryStats().liveBytes());
        assertEquals(start.liveBytes() + 44, b.memoryStats().peakBytes());
    }

    @Test
    void oversizedAllocationFailsClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.allocate(DType.F32, 65536, 65536));
        assertTrue(e.getMessage().contains("4294967296 elements") && e.getMessage().contains("limit"), e.getMessage());
        assertEquals(0, b.memoryStats().liveBytes());
    }

    @Test
    void closedStorageIsRejected() {
        Tensor t = b.allocate(DType.F32, 4);
        t.close();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.fill(t, 1));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void nameAndThreadCount() {
        assertEquals("cpu (2 threads)", b.name());
        try (CpuBackend one = new CpuBackend(1)) {
            assertEquals("cpu (1 thread)", one.name());
        }
        assertThrows(IllegalArgumentException.class, () -> new CpuBackend(0));
    }

    @Test
    void transfersWalkChannelSlicesAndConvertPrecision() {
        double[] v = new double[2 * 2 * 3];
        for (int i = 0; i < v.length; i++) v[i] = i + 0.25;
        Tensor s = slice(b, DType.F32, 1, 1, -1, 2, 2, 3, 1);
        b.upload(v, s);
        float[] f = new float[v.length];
        b.download(s, f);
        for (int i = 0; i < v.length; i++) assertEquals((float) v[i], f[i]);
        double[] whole = values(b, OpTesting.whole(s));
        assertArrayEquals(new double[] {-1, -1, -1, 0.25, 1.25, 2.25, 3.25, 4.25, 5.25, -1, -1, -1,
            -1, -1, -1, 6.25, 7.25, 8.25, 9.25, 10.25, 11.25, -1, -1, -1}, whole);
        assertThrows(IllegalArgumentException.class, () -> b.upload(new int[v.length], s));
        assertThrows(IllegalArgumentException.class, () -> b.upload(new double[v.length + 1], s));
    }

    @Test
    void topKCountsTiesInFavourOfTheLabel() {
        // row 0: label tied with the maximum -> top-1; row 1: five logits above the label -> not top-5;
        // row 2: four above -> top-5 only
        double[] logits = {
            3, 3, 0, 0, 0, 0, 0,
            6, 5, 4, 3, 2, 1, 0,
            6, 5, 4, 3, 2, 2, 2};
        Tensor l = tensor(b, DType.F64, logits, 3, 7), labels = b.allocate(DType.I32, 3);
        b.upload(new int[] {1, 6, 4}, labels);
        LossResult r = b.softmaxCrossEntropy(l, labels, null);
        assertEquals(3, r.count());
        assertEquals(1, r.top1Correct());
        assertEquals(2, r.top5Correct());
        b.upload(new int[] {1, 7, 4}, labels);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.softmaxCrossEntropy(l, labels, null));
        assertTrue(e.getMessage().contains("label 7"), e.getMessage());
    }

    @Test
    void topFiveIsTopKWhenThereAreFewerClasses() {
        Tensor l = tensor(b, DType.F32, new double[] {0, 1, 2, 2, 1, 0}, 2, 3), labels = b.allocate(DType.I32, 2);
        b.upload(new int[] {0, 2}, labels);
        LossResult r = b.softmaxCrossEntropy(l, labels, null);
        assertEquals(0, r.top1Correct());
        assertEquals(2, r.top5Correct());
        double expected = (Math.log(1 + Math.E + Math.exp(2)) - 0 + Math.log(1 + Math.E + Math.exp(2)) - 0) / 2;
        assertEquals(expected, r.loss(), 1e-6);
    }

    @Test
    void dropoutMaskIsTheCounterRngOverTheDenseIndex() {
        int n = 2, c = 3, hw = 5;
        double p = 0.4;
        long seed = 1234;
        Tensor x = slice(b, DType.F32, 2, 1, 1.5, n, c, hw, 1), y = slice(b, DType.F32, 0, 1, 0, n, c, hw, 1);
        Tensor mask = b.allocate(DType.F32, n, c, hw, 1);
        b.dropoutForward(x, y, mask, p, seed);
        double[] m = values(b, mask), out = values(b, y);
        int dropped = 0;
        for (int i = 0; i < m.length; i++) {
            double expected = CounterRng.uniform(seed, i) < p ? 0 : (float) (1 / (1 - p));
            assertEquals(expected, m[i], "mask element " + i);
            assertEquals((float) (1.5f * expected), out[i], 0, "output element " + i);
            if (expected == 0) dropped++;
        }
        assertTrue(dropped > 0 && dropped < m.length);
    }

    @Test
    void dropoutWithItsSeedInATensorDrawsTheSameMaskAsTheSeedByValue() {
        long seed = 0x8000_0001_FFFF_FFFEL;   // both words' top bits set: the low word is read unsigned
        Tensor x = slice(b, DType.F32, 2, 1, 1.5, 2, 3, 5, 1);
        Tensor byValue = b.allocate(DType.F32, 2, 3, 5, 1), fromTensor = b.allocate(DType.F32, 2, 3, 5, 1);
        Tensor m1 = b.allocate(DType.F32, 2, 3, 5, 1), m2 = b.allocate(DType.F32, 2, 3, 5, 1);
        Tensor seeds = b.allocate(DType.I32, 6);
        b.upload(new int[] {7, 7, 0, 0, 7, 7}, seeds);
        Tensor word = seeds.narrow(0, 2, 2);
        b.upload(Backend.dropoutSeedWords(seed), word);
        b.dropoutForward(x, byValue, m1, 0.4, seed);
        b.dropoutForward(x, fromTensor, m2, 0.4, word);
        assertArrayEquals(values(b, m1), values(b, m2));
        assertArrayEquals(values(b, byValue), values(b, fromTensor));
        double[] other = values(b, m1);
        b.dropoutForward(x, fromTensor, m2, 0.4, seed + 1);
        assertFalse(Arrays.equals(other, values(b, m2)), "another seed draws another mask");
        assertThrows(IllegalArgumentException.class, () -> b.dropoutForward(x, fromTensor, m2, 0.4, seeds));
    }

    @Test
    void maxPoolGradientGoesToTheFirstMaximumOfEachWindow() {
        // all-equal input: every window is a tie, so each gradient lands on the window's first
        // element in row-major order (padding excluded), as PyTorch does
        Tensor x = tensor(b, DType.F64, new double[] {2, 2, 2, 2, 2, 2, 2, 2, 2}, 1, 1, 3, 3);
        Tensor y = b.allocate(DType.F64, 1, 1, 2, 2), dx = b.allocate(DType.F64, 1, 1, 3, 3);
        Tensor dy = tensor(b, DType.F64, new double[] {1, 10, 100, 1000}, 1, 1, 2, 2);
        Pool2d pool = new Pool2d(3, 2, 1);
        b.maxPoolForward(x, y, pool);
        b.maxPoolBackward(x, y, dy, dx, pool, false);
        assertArrayEquals(new double[] {2, 2, 2, 2}, values(b, y));
        // windows start at (-1,-1), (-1,1), (1,-1), (1,1): first valid elements (0,0), (0,1), (1,0), (1,1)
        assertArrayEquals(new double[] {1, 10, 0, 100, 1000, 0, 0, 0, 0}, values(b, dx));
    }

    @Test
    void averagePoolCountsPaddingInTheDivisor() {
        Tensor x = tensor(b, DType.F64, new double[] {1, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 1, 3, 3);
        Tensor y = b.allocate(DType.F64, 1, 1, 3, 3);
        b.avgPoolForward(x, y, new Pool2d(3, 1, 1));
        double[] v = values(b, y);
        assertEquals(4.0 / 9, v[0], 1e-15, "corner");
        assertEquals(6.0 / 9, v[1], 1e-15, "edge");
        assertEquals(1.0, v[4], 1e-15, "centre");
    }
}
