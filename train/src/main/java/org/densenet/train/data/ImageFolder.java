package org.densenet.train.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.IntBinaryOperator;
import java.util.stream.Stream;
import org.densenet.engine.cuda.ffm.LibraryLoader.NotLoadable;
import org.densenet.train.data.ffm.TurboJpeg;

/**
 * The ImageNet folder layout: {@code <root>/<split>/<wnid>/*.JPEG}, classes numbered by sorted
 * folder name, or, when {@code <root>/<split>_list.txt} exists, its {@code path label} lines
 * (paths relative to {@code <root>/<split>}). Images are decoded on demand, from the loader's worker
 * threads, by libjpeg-turbo when it can be loaded (else javax.imageio), at the DCT scaling the
 * transform's crop allows unless the {@link Decoding} is exact.
 */
public final class ImageFolder implements Dataset {
    private final String name;
    private final Path[] files;
    private final int[] labels;
    private final int numClasses;
    private final List<String> classNames;
    private ImageDecoder decoder = ImageIoDecoder.INSTANCE;
    private boolean exact;
    private String decoderNote = "";

    private ImageFolder(String name, Path[] files, int[] labels, int numClasses, List<String> classNames) {
        this.name = name;
        this.files = files;
        this.labels = labels;
        this.numClasses = numClasses;
        this.classNames = classNames;
    }

    /**
     * Loose image files, each its own label (its index), for prediction: decoded as the training images
     * are, at full size (prediction resizes whole images).
     */
    public static ImageFolder ofFiles(List<Path> files) {
        int[] labels = new int[files.size()];
        for (int i = 0; i < labels.length; i++) labels[i] = i;
        ImageFolder f = new ImageFolder("images", files.toArray(Path[]::new), labels, Math.max(1, labels.length), null);
        f.useDecoder(new Decoding(Decoding.Decoder.AUTO, true));
        return f;
    }

    /** The split with the default decoding: libjpeg-turbo when it loads, DCT scaling where the crop allows. */
    public static ImageFolder load(Path root, String split) {
        return load(root, split, Decoding.DEFAULT);
    }

    /**
     * @throws DataException when {@code decoding} asks for libjpeg-turbo and it cannot be loaded, saying why
     */
    public static ImageFolder load(Path root, String split, Decoding decoding) {
        return list(root, split).withDecoding(decoding);
    }

    /** The same images, decoded as {@code decoding} says (the listing is shared, not made again). */
    public ImageFolder withDecoding(Decoding decoding) {
        ImageFolder f = new ImageFolder(name, files, labels, numClasses, classNames);
        f.useDecoder(decoding);
        return f;
    }

    private void useDecoder(Decoding d) {
        exact = d.exact();
        String scaling = exact ? "full-size decode" : "DCT-domain scaling to the crop's resolution";
        if (d.decoder() == Decoding.Decoder.IMAGEIO) {
            decoder = ImageIoDecoder.INSTANCE;
            decoderNote = "decoder: javax.imageio (--decoder imageio), full-size decode";
            return;
        }
        try {
            decoder = new TurboDecoder(TurboJpeg.load());
            decoderNote = "decoder: " + decoder.describe() + ", " + scaling + "; javax.imageio for CMYK/YCCK JPEGs and other formats";
        } catch (NotLoadable e) {
            if (d.decoder() == Decoding.Decoder.TURBO) throw new DataException("--decoder turbo: " + e.getMessage());
            decoder = ImageIoDecoder.INSTANCE;
            decoderNote = "decoder: javax.imageio, full-size decode, several times slower: " + e.getMessage();
        }
    }

    /** "turbo" or "imageio": the decoder that runs. */
    public String decoderName() {
        return decoder instanceof TurboDecoder ? "turbo" : "imageio";
    }

    /** One line: which decoder runs, and why that one. */
    public String decoderNote() {
        return decoderNote;
    }

    private static ImageFolder list(Path root, String split) {
        Path dir = root.resolve(split);
        if (!Files.isDirectory(dir)) {
            throw DataException.at(dir, "ImageNet " + split + " folder not found; expected " + root + "/" + split + "/<wnid>/*.JPEG");
        }
        Path list = root.resolve(split + "_list.txt");
        return Files.isRegularFile(list) ? fromList(split, dir, list) : fromFolders(split, dir);
    }

    private static ImageFolder fromFolders(String split, Path dir) {
        List<Path> classes;
        try (Stream<Path> s = Files.list(dir)) {
            classes = s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw DataException.at(dir, "cannot list: " + e.getMessage());
        }
        if (classes.isEmpty()) throw DataException.at(dir, "has no class folders (expected <wnid>/*.JPEG inside)");
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < classes.size(); c++) {
            try (Stream<Path> s = Files.list(classes.get(c))) {
                for (Path f : s.filter(ImageFolder::isImage).sorted().toList()) {
                    files.add(f);
                    labels.add(c);
                }
            } catch (IOException e) {
                throw DataException.at(classes.get(c), "cannot list: " + e.getMessage());
            }
        }
        if (files.isEmpty()) throw DataException.at(dir, "has class folders but no .JPEG/.jpg/.png images in them");
        return new ImageFolder("imagenet " + split, files.toArray(Path[]::new),
                labels.stream().mapToInt(Integer::intValue).toArray(), classes.size(),
                classes.stream().map(c -> c.getFileName().toString()).toList());
    }

    private static ImageFolder fromList(String split, Path dir, Path list) {
        List<String> lines;
        try {
            lines = Files.readAllLines(list);
        } catch (IOException e) {
            throw DataException.at(list, "cannot read: " + e.getMessage());
        }
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        int max = -1;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            int sp = line.lastIndexOf(' ');
            int label;
            try {
                label = sp < 0 ? -1 : Integer.parseInt(line.substring(sp + 1));
            } catch (NumberFormatException e) {
                label = -1;
            }
            if (label < 0) throw DataException.at(list, "line " + (i + 1) + " is not 'path label' with a label >= 0: " + line);
            files.add(dir.resolve(line.substring(0, sp).strip()));
            labels.add(label);
            max = Math.max(max, label);
        }
        if (files.isEmpty()) throw DataException.at(list, "lists no images");
        return new ImageFolder("imagenet " + split, files.toArray(Path[]::new),
                labels.stream().mapToInt(Integer::intValue).toArray(), max + 1, null);
    }

    /** Number of classes of a split without listing its images: class folders, or the largest label of the list file + 1. */
    public static int classCount(Path root, String split) {
        Path list = root.resolve(split + "_list.txt");
        if (Files.isRegularFile(list)) return fromList(split, root.resolve(split), list).numClasses();
        try (Stream<Path> s = Files.list(root.resolve(split))) {
            return (int) s.filter(Files::isDirectory).count();
        } catch (IOException e) {
            throw DataException.at(root.resolve(split), "cannot list: " + e.getMessage());
        }
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".jpeg") || n.endsWith(".jpg") || n.endsWith(".png");
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int size() {
        return files.length;
    }

    @Override
    public int numClasses() {
        return numClasses;
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    @Override
    public boolean skipsUndecodable() {
        return true;
    }

    @Override
    public int channels() {
        return 3;
    }

    @Override
    public int label(int index) {
        return labels[index];
    }

    public Path file(int index) {
        return files[index];
    }

    @Override
    public Image image(int index) {
        return decode(index, (w, h) -> 1).image();
    }

    @Override
    public Decoded decode(int index, IntBinaryOperator reduction) {
        return decode(index, reduction, null);
    }

    /** {@link #decode(int, IntBinaryOperator)}, adding the time of reading and of decoding to {@code times} unless it is null. */
    public Decoded decode(int index, IntBinaryOperator reduction, LoadTimes times) {
        Path f = files[index];
        if (!Files.isRegularFile(f)) throw DataException.at(f, "image file is missing");
        return decoder.decode(f, exact ? (w, h) -> 1 : reduction, times);
    }
}
