package org.densenet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.densenet.engine.Backend;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.JsonCodec;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryPlanner;
import org.densenet.model.Weights;
import org.densenet.train.Checkpoint;
import org.densenet.train.Predictor;
import org.densenet.train.data.ClassNames;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Datasets;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code densenet predict}: the most likely classes of image files under saved or pretrained weights. */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classify images: the top classes and their probabilities for each image file (JPEG, PNG), with the evaluation"
                + " transform of the network's dataset (ImageNet: shorter side 256, centre 224; CIFAR: 32x32; Fashion-MNIST: 28x28 grey).",
                "Class names come from the weights file (the training run's dataset or folder names), else ImageNet-1k's for"
                        + " 1000-class networks such as torchvision's. An unreadable image gets one line and the rest go on; the exit"
                        + " status is then 1."})
final class PredictCommand implements Callable<Integer> {
    @Option(names = "--weights", paramLabel = "FILE", required = true,
            description = "A checkpoint or weights file of ours, or a PyTorch/torchvision file (.pth, .pt, .pth.tar, .safetensors).")
    Path weights;

    @Parameters(paramLabel = "IMAGE|FOLDER", arity = "1..*", description = "Image files, or folders searched for .jpg, .jpeg and .png files.")
    List<Path> inputs;

    @Mixin
    ModelOptions model;

    @Option(names = "--dataset", paramLabel = "NAME",
            description = "The dataset whose transform and class names apply, where the file does not name it (a 1000-class file"
                    + " is taken as ImageNet): cifar10, cifar100, fashion-mnist, imagenet.")
    String dataset;

    @Option(names = "--topk", paramLabel = "K", defaultValue = "5", description = "Classes shown per image (default: ${DEFAULT-VALUE}).")
    int topk;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", defaultValue = "32", description = "Images per batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Mixin
    DeviceOptions device;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        device.validate();
        if (topk < 1) throw new Main.UsageError("--topk must be >= 1, got " + topk);
        if (batch < 1) throw new Main.UsageError("--batch-size must be >= 1, got " + batch);
        DatasetKind named = parseDataset(dataset, true);
        model.resolve("densenet-bc-100-12", 10, 3);  // usage errors before any file is read
        if (!Files.isRegularFile(weights)) throw new IOException(weights + ": weights file not found");

        SafeTensors.Contents contents = Weights.readStateDict(weights);
        ModelOptions.Resolved net = model.forWeights(weights, contents);
        DenseNetConfig config = net.config();
        Map<String, String> meta = contents.metadata();
        DatasetKind kind = named != null ? named : parseDataset(meta.get("config.dataset"), false);
        if (kind == null && config.numClasses() == 1000 && config.inChannels() == 3) kind = DatasetKind.IMAGENET;
        if (kind == null || kind == DatasetKind.SYNTHETIC) {
            throw new Main.UsageError(weights + " does not say which dataset it was trained on; give --dataset to choose the"
                    + " transform and class names");
        }
        List<String> names = ClassNames.forOutputs(meta.containsKey(Checkpoint.CLASS_NAMES)
                ? ClassNames.split(meta.get(Checkpoint.CLASS_NAMES)) : ClassNames.of(kind), config.numClasses());
        List<Path> files = imageFiles();
        int crop = kind.isImageNet() ? Datasets.IMAGENET_CROP : kind == DatasetKind.FASHION_MNIST ? 28 : 32;
        int resize = kind.isImageNet() ? Datasets.IMAGENET_RESIZE : crop;

        PrintWriter out = spec.commandLine().getOut();
        List<Map<String, Object>> rows = new ArrayList<>();
        int failed = 0;
        try (Backend backend = device.open(System.err)) {
            System.err.println(Predictor.decoderNote());
            MemoryPlanner.requireFits(net.name(), config, device.memoryMode(), backend.activationDType(), batch, crop, crop, false,
                    4L * config.inChannels() * crop * crop + config.inChannels() * (long) crop * crop, backend.availableMemoryBytes(),
                    backend.memoryLimitNote());
            try (DenseNet dn = new DenseNet(config, backend, device.memoryMode(), 0);
                 Predictor p = new Predictor(dn, resize, crop, Datasets.normalization(kind).forChannels(config.inChannels()), batch, topk,
                         device.workerCount(DatasetKind.IMAGENET))) {
                try {
                    dn.parameters().loadStateDict(Checkpoint.weightsOnly(contents.tensors()));
                } catch (IllegalArgumentException e) {
                    throw new IOException(weights + " does not fit " + net.name() + ": " + e.getMessage(), e);
                }
                for (Predictor.Result r : p.predict(files, json ? null : part -> print(out, part, names))) {
                    if (r.error() != null) failed++;
                    if (json) rows.add(row(r, names));
                }
            }
        }
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", net.name());
            o.put("weights", weights.toString());
            o.put("dataset", kind.cliName());
            o.put("images", rows);
            out.println(JsonCodec.write(o));
        }
        out.flush();
        if (failed > 0) System.err.printf(Locale.ROOT, "error: %d of %d images could not be read%n", failed, files.size());
        return failed > 0 ? Main.EXIT_ERROR : 0;
    }

    private static void print(PrintWriter out, List<Predictor.Result> part, List<String> names) {
        for (Predictor.Result r : part) {
            if (r.error() != null) {
                System.err.println("error: " + r.error());
                continue;
            }
            out.println(r.file());
            for (int i = 0; i < r.classes().length; i++) {
                out.printf(Locale.ROOT, "  %6.2f%%  %s%n", 100 * r.probabilities()[i], names.get(r.classes()[i]));
            }
        }
        out.flush();
    }

    private static Map<String, Object> row(Predictor.Result r, List<String> names) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("file", r.file().toString());
        if (r.error() != null) {
            m.put("error", r.error());
            return m;
        }
        List<Object> top = new ArrayList<>();
        for (int i = 0; i < r.classes().length; i++) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("class", r.classes()[i]);
            c.put("name", names.get(r.classes()[i]));
            c.put("probability", r.probabilities()[i]);
            top.add(c);
        }
        m.put("top", top);
        return m;
    }

    /** The files named, folders searched (sorted, recursively) for images; a path that is neither is a data error. */
    private List<Path> imageFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path in : inputs) {
            if (Files.isDirectory(in)) {
                try (Stream<Path> s = Files.walk(in)) {
                    List<Path> found = s.filter(f -> Files.isRegularFile(f) && isImage(f)).sorted().toList();
                    if (found.isEmpty()) throw new IOException(in + ": no .jpg, .jpeg or .png files in this folder");
                    files.addAll(found);
                }
            } else if (Files.exists(in)) {
                files.add(in);
            } else {
                throw new IOException(in + ": no such file or folder");
            }
        }
        return files;
    }

    private static boolean isImage(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".png");
    }

    /** A dataset name: from --dataset a usage error when unknown, from a file's metadata null ("auto" and absent too). */
    private static DatasetKind parseDataset(String name, boolean fromOption) {
        if (name == null || name.equals("auto")) return null;
        try {
            return DatasetKind.parse(name);
        } catch (IllegalArgumentException e) {
            if (fromOption) throw new Main.UsageError(e.getMessage());
            return null;
        }
    }
}
