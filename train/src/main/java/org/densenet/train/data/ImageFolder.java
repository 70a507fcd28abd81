package org.densenet.train.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * The ImageNet folder layout: {@code <root>/<split>/<wnid>/*.JPEG}, classes numbered by sorted
 * folder name, or, when {@code <root>/<split>_list.txt} exists, its {@code path label} lines
 * (paths relative to {@code <root>/<split>}). Images are decoded on demand with javax.imageio,
 * from the loader's worker threads.
 */
public final class ImageFolder implements Dataset {
    private final String name;
    private final Path[] files;
    private final int[] labels;
    private final int numClasses;
    private final List<String> classNames;

    private ImageFolder(String name, Path[] files, int[] labels, int numClasses, List<String> classNames) {
        this.name = name;
        this.files = files;
        this.labels = labels;
        this.numClasses = numClasses;
        this.classNames = classNames;
    }

    /** Loose image files, each its own label (its index), for prediction: decoded as the training images are. */
    public static ImageFolder ofFiles(List<Path> files) {
        int[] labels = new int[files.size()];
        for (int i = 0; i < labels.length; i++) labels[i] = i;
        return new ImageFolder("images", files.toArray(Path[]::new), labels, Math.max(1, labels.length), null);
    }

    public static ImageFolder load(Path root, String split) {
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
        Path f = files[index];
        BufferedImage img;
        if (!Files.isRegularFile(f)) throw DataException.at(f, "image file is missing");
        try {
            img = ImageIO.read(f.toFile());
        } catch (IOException | RuntimeException e) {
            throw DataException.at(f, "undecodable image (" + e.getMessage() + ")");
        }
        if (img == null) throw DataException.at(f, "undecodable image (not a format javax.imageio reads)");
        return toImage(img);
    }

    /**
     * The decoded samples as 8-bit RGB planes, as PIL's {@code convert("RGB")} gives them (what torchvision
     * trains on): colour samples as stored, grey replicated into the three channels, alpha dropped, CMYK
     * by PIL's formula ({@link #cmykToRgb}). Byte
     * rasters (the JPEG reader's colour and grey output, most PNGs) are read directly; anything else
     * goes through {@link BufferedImage#getRGB}, which would also convert: grey through a linear colour
     * space, so that 64 became 137.
     */
    static Image toImage(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight(), plane = h * w;
        byte[] px = new byte[3 * plane];
        WritableRaster raster = img.getRaster();
        int bands = raster.getNumBands(), space = img.getColorModel().getColorSpace().getType();
        boolean direct = (bands == 1 && space == ColorSpace.TYPE_GRAY) || (bands == 3 && space == ColorSpace.TYPE_RGB)
                || (bands == 4 && space == ColorSpace.TYPE_CMYK);
        if (direct && raster.getSampleModel() instanceof PixelInterleavedSampleModel sm
                && raster.getDataBuffer() instanceof DataBufferByte db && db.getNumBanks() == 1
                && raster.getSampleModelTranslateX() == 0 && raster.getSampleModelTranslateY() == 0) {
            byte[] d = db.getData();
            int stride = sm.getScanlineStride(), step = sm.getPixelStride(), base = db.getOffset();
            int[] band = sm.getBandOffsets();
            if (bands == 4) {
                cmykToRgb(d, base, stride, step, band, h, w, px);
            } else if (bands == 1) {
                for (int y = 0; y < h; y++) {
                    int in = base + y * stride + band[0], out = y * w;
                    for (int x = 0; x < w; x++, in += step) px[out + x] = d[in];
                }
                System.arraycopy(px, 0, px, plane, plane);
                System.arraycopy(px, 0, px, 2 * plane, plane);
            } else {
                int r = band[0], g = band[1], b = band[2];
                for (int y = 0; y < h; y++) {
                    int in = base + y * stride, out = y * w;
                    for (int x = 0; x < w; x++, in += step) {
                        px[out + x] = d[in + r];
                        px[plane + out + x] = d[in + g];
                        px[2 * plane + out + x] = d[in + b];
                    }
                }
            }
            return new Image(3, h, w, px);
        }
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            img.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int rgb = row[x];
                px[y * w + x] = (byte) (rgb >> 16);
                px[plane + y * w + x] = (byte) (rgb >> 8);
                px[2 * plane + y * w + x] = (byte) rgb;
            }
        }
        return new Image(3, h, w, px);
    }

    /**
     * CMYK inks (the JPEG reader has already undone Adobe's inverted storage) to RGB planes with PIL's
     * formula, without colour management: r = (255 - k) - c (255 - k) / 255, rounded as PIL's 8-bit
     * MULDIV255. getRGB would convert through a CMYK colour profile instead, far from what
     * torchvision sees.
     */
    private static void cmykToRgb(byte[] d, int base, int stride, int step, int[] band, int h, int w, byte[] px) {
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            int in = base + y * stride, out = y * w;
            for (int x = 0; x < w; x++, in += step) {
                int nk = 255 - (d[in + band[3]] & 0xFF);
                for (int ch = 0; ch < 3; ch++) {
                    int ink = d[in + band[ch]] & 0xFF;
                    int t = ink * nk + 128;
                    int v = nk - (((t >> 8) + t) >> 8);
                    px[ch * plane + out + x] = (byte) Math.max(0, v);
                }
            }
        }
    }
}
