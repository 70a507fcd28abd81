package org.densenet.train.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * CIFAR-10 and CIFAR-100, binary version. Records are {@code labelBytes} label bytes (CIFAR-100: coarse,
 * then fine; the fine label is used) followed by 3072 pixel bytes, red plane, green plane, blue plane.
 * Read from an extracted folder or straight from the official .tar.gz.
 */
public final class Cifar {
    public static final int SIDE = 32;
    public static final int PIXELS = 3 * SIDE * SIDE;

    /** What distinguishes the two archives. */
    public record Variant(String name, int classes, int labelBytes, String archive, String md5, String folder,
                          List<String> trainFiles, List<String> testFiles, int trainRecords, int testRecords) {
        public int recordSize() {
            return labelBytes + PIXELS;
        }

        public String url() {
            return "https://www.cs.toronto.edu/~kriz/" + archive;
        }
    }

    public static final Variant CIFAR10 = new Variant("cifar10", 10, 1, "cifar-10-binary.tar.gz",
            "c32a1d4ab5d03f1284b67883e8d87530", "cifar-10-batches-bin",
            List.of("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"),
            List.of("test_batch.bin"), 50_000, 10_000);

    public static final Variant CIFAR100 = new Variant("cifar100", 100, 2, "cifar-100-binary.tar.gz",
            "03b5dce01913d631647c71ecec9e9cb8", "cifar-100-binary",
            List.of("train.bin"), List.of("test.bin"), 50_000, 10_000);

    private Cifar() {
    }

    /**
     * Loads one split. {@code location} is a folder holding the .bin files (directly, or in the
     * archive's own sub-folder, or as the .tar.gz), or the .tar.gz itself. With {@code download},
     * a missing archive is fetched into the folder and its MD5 checked.
     */
    public static ArrayDataset load(Variant v, Path location, boolean train, boolean download) {
        List<String> files = train ? v.trainFiles() : v.testFiles();
        String split = v.name() + (train ? " train" : " test");
        Path archive = null;
        if (Files.isRegularFile(location)) {
            archive = location;
        } else if (Files.isDirectory(location)) {
            Path folder = findBinFolder(location, files);
            if (folder != null) return fromFiles(v, split, folder, files);
            Path candidate = location.resolve(v.archive());
            if (Files.isRegularFile(candidate)) archive = candidate;
        }
        if (archive == null) {
            if (download) {
                archive = Download.fetch(v.url(), location.resolve(v.archive()), v.md5());
            } else {
                throw new DataException(v.name() + " data not found in " + location + ": expected " + files.get(0)
                        + " (in it or in " + v.folder() + "/) or " + v.archive() + "; pass --download to fetch "
                        + v.url() + ", or --data DIR to point at a copy");
            }
        }
        Path tar = archive;
        Map<String, byte[]> members = TarGz.read(tar, new HashSet<>(files));
        byte[][] parts = new byte[files.size()][];
        for (int i = 0; i < files.size(); i++) {
            parts[i] = members.get(files.get(i));
            if (parts[i] == null) throw DataException.at(tar, "archive has no member " + files.get(i));
        }
        return parse(v, split, files.stream().map(f -> tar + "!" + f).toList(), parts);
    }

    private static Path findBinFolder(Path dir, List<String> files) {
        for (Path cand : new Path[] {dir, dir.resolve(CIFAR10.folder()), dir.resolve(CIFAR100.folder())}) {
            if (Files.isRegularFile(cand.resolve(files.get(0)))) return cand;
        }
        return null;
    }

    private static ArrayDataset fromFiles(Variant v, String split, Path folder, List<String> files) {
        byte[][] parts = new byte[files.size()][];
        for (int i = 0; i < files.size(); i++) {
            Path f = folder.resolve(files.get(i));
            if (!Files.isRegularFile(f)) throw DataException.at(f, "missing (the other " + v.name() + " files are in " + folder + ")");
            try {
                parts[i] = Files.readAllBytes(f);
            } catch (IOException e) {
                throw DataException.at(f, "cannot read: " + e.getMessage());
            }
        }
        return parse(v, split, files.stream().map(name -> folder.resolve(name).toString()).toList(), parts);
    }

    /** Checks sizes and labels of every part and joins them into one dataset. */
    static ArrayDataset parse(Variant v, String split, List<String> names, byte[][] parts) {
        int rec = v.recordSize();
        int total = 0;
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].length == 0 || parts[i].length % rec != 0) {
                throw new DataException(names.get(i) + ": size " + parts[i].length + " bytes is not a whole number of "
                        + rec + "-byte " + v.name() + " records (file truncated or not " + v.name() + " binary data)");
            }
            total += parts[i].length / rec;
        }
        byte[] pixels = new byte[total * PIXELS];
        int[] labels = new int[total];
        int n = 0;
        for (int i = 0; i < parts.length; i++) {
            byte[] p = parts[i];
            for (int r = 0; r < p.length / rec; r++, n++) {
                int label = p[r * rec + v.labelBytes() - 1] & 0xFF;
                if (label >= v.classes()) {
                    throw new DataException(names.get(i) + ": record " + r + " has label " + label + ", outside [0, "
                            + v.classes() + ") for " + v.name());
                }
                labels[n] = label;
                System.arraycopy(p, r * rec + v.labelBytes(), pixels, n * PIXELS, PIXELS);
            }
        }
        return new ArrayDataset(split, v.classes(), 3, SIDE, SIDE, pixels, labels);
    }

    /** Writes records in the binary format; used to make small test sets. */
    public static byte[] encode(Variant v, int[] labels, byte[] pixels) {
        int rec = v.recordSize();
        byte[] out = new byte[labels.length * rec];
        for (int i = 0; i < labels.length; i++) {
            if (v.labelBytes() == 2) out[i * rec] = (byte) (labels[i] / 5);  // any coarse label: it is not used
            out[i * rec + v.labelBytes() - 1] = (byte) labels[i];
            System.arraycopy(pixels, i * PIXELS, out, i * rec + v.labelBytes(), PIXELS);
        }
        return out;
    }
}
