package org.densenet.train.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** Fashion-MNIST from its four IDX files ({@code .gz} or uncompressed): 28x28 grey images, 10 classes. */
public final class FashionMnist {
    /** Where Debian's dataset-fashion-mnist package installs the files. */
    public static final Path DEFAULT_FOLDER = Path.of("/usr/share/datasets/fashion-mnist");
    public static final int SIDE = 28;
    public static final int CLASSES = 10;

    private FashionMnist() {
    }

    public static ArrayDataset load(Path folder, boolean train) {
        String prefix = train ? "train" : "t10k";
        if (!Files.isDirectory(folder)) {
            throw DataException.at(folder, "Fashion-MNIST folder not found; install Debian's dataset-fashion-mnist"
                    + " (it fills " + DEFAULT_FOLDER + ") or pass --data DIR with " + prefix + "-images-idx3-ubyte.gz");
        }
        Path images = find(folder, prefix + "-images-idx3-ubyte");
        Path labels = find(folder, prefix + "-labels-idx1-ubyte");
        byte[] img = read(images);
        byte[] lab = read(labels);
        ByteBuffer ib = ByteBuffer.wrap(img);
        ByteBuffer lb = ByteBuffer.wrap(lab);
        if (img.length < 16 || ib.getInt(0) != 0x803) throw DataException.at(images, "not an IDX image file (magic number is not 0x00000803)");
        if (lab.length < 8 || lb.getInt(0) != 0x801) throw DataException.at(labels, "not an IDX label file (magic number is not 0x00000801)");
        int n = ib.getInt(4), rows = ib.getInt(8), cols = ib.getInt(12);
        if (rows != SIDE || cols != SIDE) throw DataException.at(images, "images are " + rows + "x" + cols + ", expected 28x28");
        if (img.length != 16 + (long) n * rows * cols) {
            throw DataException.at(images, "holds " + (img.length - 16) + " pixel bytes, header announces " + n
                    + " images of " + rows * cols + " (file truncated?)");
        }
        int nl = lb.getInt(4);
        if (nl != n) throw DataException.at(labels, "has " + nl + " labels for " + n + " images in " + images.getFileName());
        if (lab.length != 8 + n) throw DataException.at(labels, "holds " + (lab.length - 8) + " labels, header announces " + n + " (file truncated?)");
        int[] labelArr = new int[n];
        for (int i = 0; i < n; i++) {
            labelArr[i] = lab[8 + i] & 0xFF;
            if (labelArr[i] >= CLASSES) {
                throw DataException.at(labels, "label " + labelArr[i] + " of image " + i + " is outside [0, " + CLASSES + ")");
            }
        }
        byte[] pixels = new byte[n * SIDE * SIDE];
        System.arraycopy(img, 16, pixels, 0, pixels.length);
        return new ArrayDataset("fashion-mnist " + (train ? "train" : "test"), CLASSES, 1, SIDE, SIDE, pixels, labelArr);
    }

    private static Path find(Path folder, String stem) {
        Path gz = folder.resolve(stem + ".gz");
        if (Files.isRegularFile(gz)) return gz;
        Path raw = folder.resolve(stem);
        if (Files.isRegularFile(raw)) return raw;
        throw DataException.at(gz, "missing (neither it nor " + raw.getFileName() + " is in " + folder + ")");
    }

    private static byte[] read(Path file) {
        try (InputStream raw = Files.newInputStream(file)) {
            if (!file.toString().endsWith(".gz")) return raw.readAllBytes();
            try (InputStream in = new GZIPInputStream(raw, 1 << 16)) {
                return in.readAllBytes();
            }
        } catch (EOFException e) {
            throw DataException.at(file, "gzip stream is truncated");
        } catch (IOException e) {
            throw DataException.at(file, "cannot read: " + e.getMessage());
        }
    }
}
