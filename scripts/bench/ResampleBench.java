import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.densenet.train.data.Decoded;
import org.densenet.train.data.Decoding;
import org.densenet.train.data.ImageFolder;
import org.densenet.train.data.Normalization;
import org.densenet.train.data.RandomResizedCrop;
import org.densenet.train.data.ResizeCenterCrop;
import org.densenet.train.data.Transform;

/**
 * The ImageNet loader's two costs apart, on one thread, in the thread's CPU time (what a busy shared
 * machine changes least) and wall time: libjpeg-turbo's full-size decode of each image (and
 * javax.imageio's, the baseline), and the
 * crop and resample of the training transform (random-resized crop to 224, flip) and of the
 * evaluation transform (resize 256, centre crop 224) from images already decoded. Each is repeated
 * ROUNDS times over the same images; the report gives the median round and the range.
 *
 * Usage: java -cp cli/target/densenet.jar scripts/bench/ResampleBench.java DIR [IMAGES [ROUNDS]]
 *        (DIR as made by MakeImageFolder.java; defaults 200 images, 7 rounds)
 */
public final class ResampleBench {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) {
        if (args.length < 1 || args.length > 3) {
            System.err.println("usage: java -cp cli/target/densenet.jar scripts/bench/ResampleBench.java DIR [IMAGES [ROUNDS]]");
            System.exit(2);
        }
        ImageFolder set = ImageFolder.load(Path.of(args[0]), "train", new Decoding(Decoding.Decoder.TURBO, true));
        int n = Math.min(set.size(), args.length > 1 ? Integer.parseInt(args[1]) : 200);
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        System.out.println(set.decoderNote());
        Decoded[] images = new Decoded[n];
        long pixels = 0;
        for (int i = 0; i < n; i++) {
            images[i] = set.decode(i, (w, h) -> 1);
            pixels += (long) images[i].fullWidth() * images[i].fullHeight();
        }
        System.out.printf(Locale.ROOT, "%d images, %.0f pixels on average, %d rounds (median, then min-max), ms per image%n", n,
                (double) pixels / n, rounds);
        report("decode (full size)", rounds, n, () -> {
            for (int i = 0; i < n; i++) set.decode(i, (w, h) -> 1);
        });
        ImageFolder imageio = set.withDecoding(new Decoding(Decoding.Decoder.IMAGEIO, true));
        report("decode, javax.imageio", rounds, n, () -> {
            for (int i = 0; i < n; i++) imageio.decode(i, (w, h) -> 1);
        });
        Transform train = new RandomResizedCrop(224, 0.08, Normalization.IMAGENET);
        Transform eval = new ResizeCenterCrop(256, 224, Normalization.IMAGENET);
        byte[] out = new byte[3 * 224 * 224];
        for (Transform t : new Transform[] {train, eval}) {
            report(t == train ? "random-resized crop 224" : "resize 256, centre crop 224", rounds, n, () -> {
                for (int i = 0; i < n; i++) t.apply(images[i], Transform.key(1, 0, i), out, 0);
            });
        }
    }

    private static void report(String what, int rounds, int n, Runnable body) {
        body.run();  // the JIT's compiles
        double[] cpu = new double[rounds], wall = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long c0 = THREADS.getCurrentThreadCpuTime(), w0 = System.nanoTime();
            body.run();
            cpu[r] = (THREADS.getCurrentThreadCpuTime() - c0) / 1e6 / n;
            wall[r] = (System.nanoTime() - w0) / 1e6 / n;
        }
        Arrays.sort(cpu);
        Arrays.sort(wall);
        System.out.printf(Locale.ROOT, "%-30s cpu %.3f (%.3f-%.3f)   wall %.3f (%.3f-%.3f)%n", what, cpu[rounds / 2], cpu[0], cpu[rounds - 1],
                wall[rounds / 2], wall[0], wall[rounds - 1]);
    }
}
