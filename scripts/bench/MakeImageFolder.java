import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * Writes an ImageNet-layout folder of generated JPEGs, for timing the input pipeline where no
 * ImageNet copy is at hand: OUT/train/cNNN/*.JPEG and OUT/val/cNNN/*.JPEG. Sizes follow ImageNet's
 * training set: most photos 500x375 or 500x333 (or standing, 375x500), many smaller, a few
 * large (up to 1600 pixels wide), for a mean of about 410x360; colour gradients with noise and a
 * few flat rectangles, every 50th image grey, JPEG quality 0.9 with 4:2:0 chroma, about 110 KB on
 * average as ImageNet's files are. Deterministic for a seed. Generated pictures are not
 * photographs, so decode times are indicative, not ImageNet's.
 *
 * Usage: java scripts/bench/MakeImageFolder.java OUT [TRAIN_PER_CLASS [VAL_PER_CLASS [CLASSES [SEED]]]]
 *        (defaults 100, 20, 4, 1)
 */
public class MakeImageFolder {
    /** Largest noise amplitude: sets how much detail the encoder must keep, so the file size. */
    private static final double NOISE = 150;
    /** JPEG quality, about that of ImageNet's files. */
    private static final float QUALITY = 0.9f;

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 5) {
            System.err.println("usage: java MakeImageFolder.java OUT [TRAIN_PER_CLASS [VAL_PER_CLASS [CLASSES [SEED]]]]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        int train = args.length > 1 ? Integer.parseInt(args[1]) : 100;
        int val = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        int classes = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        long seed = args.length > 4 ? Long.parseLong(args[4]) : 1;
        SplittableRandom rng = new SplittableRandom(seed);
        int written = 0;
        long bytes = 0, width = 0, height = 0;
        for (String split : new String[] {"train", "val"}) {
            int per = split.equals("train") ? train : val;
            for (int c = 0; c < classes; c++) {
                Path dir = Files.createDirectories(out.resolve(split).resolve(String.format("c%03d", c)));
                for (int i = 0; i < per; i++) {
                    Path f = dir.resolve(String.format("%s_%03d_%05d.JPEG", split, c, i));
                    BufferedImage img = picture(rng, written % 50 == 49);
                    write(img, f);
                    width += img.getWidth();
                    height += img.getHeight();
                    bytes += Files.size(f);
                    written++;
                }
            }
        }
        System.out.printf("%d images, %.1f KB and %.0fx%.0f pixels on average, in %s%n", written, bytes / 1024.0 / Math.max(1, written),
                (double) width / Math.max(1, written), (double) height / Math.max(1, written), out);
    }

    private static void write(BufferedImage img, Path f) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(QUALITY);
        try (ImageOutputStream out = ImageIO.createImageOutputStream(f.toFile())) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(img, null, null), param);
        } finally {
            writer.dispose();
        }
    }

    /** {width, height} drawn as ImageNet's are spread. */
    private static int[] size(SplittableRandom rng) {
        double u = rng.nextDouble();
        if (u < 0.40) return new int[] {500, rng.nextInt(3) < 2 ? 375 : 333};
        if (u < 0.55) return new int[] {rng.nextInt(3) < 2 ? 375 : 333, 500};
        if (u < 0.97) {
            int longSide = 120 + rng.nextInt(380), shortSide = (int) (longSide * rng.nextDouble(0.75, 1.0));
            return rng.nextBoolean() ? new int[] {longSide, shortSide} : new int[] {shortSide, longSide};
        }
        int w = 600 + rng.nextInt(1000);
        return new int[] {w, (int) (w * rng.nextDouble(0.66, 0.8))};
    }

    private static BufferedImage picture(SplittableRandom rng, boolean grey) {
        int[] size = size(rng);
        int w = size[0], h = size[1];
        BufferedImage img = new BufferedImage(w, h, grey ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        int[][] rect = new int[3][5];
        for (int[] r : rect) {
            r[0] = rng.nextInt(w);
            r[1] = rng.nextInt(h);
            r[2] = r[0] + 20 + rng.nextInt(w / 3);
            r[3] = r[1] + 20 + rng.nextInt(h / 3);
            r[4] = rng.nextInt(1 << 24);
        }
        int phase = rng.nextInt(256);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = -1;
                for (int[] r : rect) if (x >= r[0] && x < r[2] && y >= r[1] && y < r[3]) rgb = r[4];
                if (rgb < 0) {
                    int red = clamp(x * 255 / w + noise(rng)), green = clamp(y * 255 / h + noise(rng)),
                            blue = clamp((phase + (x + y) * 255 / (w + h)) % 256 + noise(rng));
                    rgb = red << 16 | green << 8 | blue;
                }
                img.setRGB(x, y, rgb);
            }
        }
        return img;
    }

    private static int noise(SplittableRandom rng) {
        return (int) Math.round(rng.nextDouble(-1, 1) * rng.nextDouble(0, NOISE));
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }
}
