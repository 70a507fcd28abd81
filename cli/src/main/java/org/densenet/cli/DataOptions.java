package org.densenet.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Datasets;
import org.densenet.train.data.Decoding;
import picocli.CommandLine.Option;

/** Which dataset and where it is. Shared by train, eval and bench data. */
public final class DataOptions {
    @Option(names = "--dataset", paramLabel = "NAME", defaultValue = "auto",
            description = "cifar10, cifar100, fashion-mnist, imagenet, synthetic, or auto: the one in --data, else CIFAR-10 in"
                    + " data/cifar10, else the installed Fashion-MNIST (default: ${DEFAULT-VALUE}).")
    String dataset;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Dataset folder (CIFAR: the .bin files, their folder or the .tar.gz; Fashion-MNIST: the IDX .gz files; "
                    + "ImageNet: train/ and val/). Default: data/cifar10, data/cifar100, /usr/share/datasets/fashion-mnist.")
    Path data;

    @Option(names = "--download", description = "Fetch the official CIFAR archive into the data folder when it is missing (MD5 checked).")
    boolean download;

    @Option(names = "--decoder", paramLabel = "D", defaultValue = "auto",
            description = "ImageNet's JPEG decoder: turbo (libjpeg-turbo through FFM: libturbojpeg.so.0, found on the loader path, in "
                    + "DENSENET_JPEG_LIBS, beside the bundle's jar or in the system folders), imageio (the JDK's, several times slower), "
                    + "or auto: turbo when it loads, else imageio, saying why (default: ${DEFAULT-VALUE}).")
    String decoder;

    @Option(names = "--exact-decode",
            description = "Decode every ImageNet image at full size. By default a JPEG is decoded at 1/2, 1/4 or 1/8 of its size "
                    + "(libjpeg-turbo's DCT scaling) when the crop still has the output's resolution there; crops then differ "
                    + "slightly from those of a full-size decode (docs/BENCHMARKS.md).")
    boolean exactDecode;

    private DatasetKind resolved;

    /** The dataset named, or found (--dataset auto); a data error when auto finds nothing. */
    public DatasetKind kind() {
        if (resolved != null) return resolved;
        DatasetKind named = namedKind();
        return resolved = named != null ? named : Datasets.detect(data);
    }

    /**
     * The dataset --dataset names, null for auto; a usage error for an unknown name. Reads nothing, so
     * commands call it to report usage errors before any dataset is looked for.
     */
    public DatasetKind namedKind() {
        if (dataset.strip().equalsIgnoreCase("auto")) return null;
        try {
            return DatasetKind.parse(dataset);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
    }

    /** The --data folder, or null for the dataset's default. */
    public Path folder() {
        return data;
    }

    /** The decoders --decoder names, comma-separated ('bench data' compares several), each with --exact-decode. */
    public List<Decoding> decodings() {
        List<Decoding> out = new ArrayList<>();
        try {
            for (String d : decoder.split(",")) {
                Decoding c = new Decoding(Decoding.Decoder.parse(d), exactDecode);
                if (!out.contains(c)) out.add(c);
            }
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError("--decoder: " + e.getMessage());
        }
        return out;
    }

    /** The one decoder --decoder names. */
    public Decoding decoding() {
        List<Decoding> d = decodings();
        if (d.size() != 1) throw new Main.UsageError("--decoder takes one decoder here, got '" + decoder + "' (bench data compares several)");
        return d.getFirst();
    }

    /** Whether --download was given. */
    public boolean download() {
        return download;
    }

    /** Takes {@code kind} unless --dataset named one (a resumed run keeps its dataset). */
    void defaultTo(DatasetKind kind, boolean datasetGiven) {
        if (!datasetGiven) resolved = kind;
    }

    /** The preset used when no model is given. */
    String defaultModel() {
        return defaultModel(kind());
    }

    /** The preset used for {@code kind} when no model is given. */
    static String defaultModel(DatasetKind kind) {
        return kind.isImageNet() ? "densenet121" : "densenet-bc-100-12";
    }
}
