package org.densenet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.densenet.engine.Backend;
import org.densenet.engine.io.HostTensor;
import org.densenet.engine.io.JsonCodec;
import org.densenet.engine.io.SafeTensors;
import org.densenet.model.DenseNet;
import org.densenet.model.MemoryPlanner;
import org.densenet.model.Weights;
import org.densenet.train.Checkpoint;
import org.densenet.train.Evaluator;
import org.densenet.train.Progress;
import org.densenet.train.data.BatchLoader;
import org.densenet.train.data.Dataset;
import org.densenet.train.data.DatasetKind;
import org.densenet.train.data.Datasets;
import org.densenet.train.data.ImageFolder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code densenet eval}: loss, top-1 and top-5 of saved weights on a dataset's test split. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate weights (a training checkpoint, a weights file, or a PyTorch/torchvision .pth) on the test split:"
                + " loss, top-1 and top-5.")
final class EvalCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--weights", paramLabel = "FILE", required = true, description = "Checkpoint or weights: .safetensors, or PyTorch's .pth, .pt, .pth.tar (a PyTorch file needs --model).")
    Path weights;

    @Mixin
    DataOptions data;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", defaultValue = "100", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--image-size", paramLabel = "S", defaultValue = "32", description = "Side of the synthetic dataset's images (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Mixin
    DeviceOptions device;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        device.validate();
        if (batch < 1) throw new Main.UsageError("--batch-size must be >= 1, got " + batch);
        DatasetKind named = data.namedKind();
        model.resolve(DataOptions.defaultModel(named != null ? named : DatasetKind.CIFAR10), 10, 3);  // usage errors before any file is read
        if (!Files.isRegularFile(weights)) throw new IOException(weights + ": weights file not found");
        DatasetKind kind = data.kind();
        SafeTensors.Contents contents = Weights.readStateDict(weights);
        Dataset test = Datasets.open(kind, data.data, false, data.download, imageSize, 1, data.decoding());
        if (test instanceof ImageFolder f) System.err.println(f.decoderNote());
        String name;
        org.densenet.model.DenseNetConfig config;
        if (!model.given() && ModelOptions.describes(contents.metadata())) {
            // Checkpoints and saved weights carry their network; the training run's name when there is one.
            ModelOptions.Resolved r = ModelOptions.described(weights, contents.metadata());
            name = r.name();
            config = r.config();
        } else {
            int classes = kind.isImageNet() ? Math.max(test.numClasses(), classifierOutputs(contents.tensors())) : kind.classes();
            ModelOptions.Resolved r = model.resolve(data.defaultModel(), classes, test.channels());
            name = r.name();
            config = r.config();
        }
        Map<String, HostTensor> state = Checkpoint.weightsOnly(contents.tensors());
        boolean terminal = Progress.isTerminal() && !json;
        Evaluator.Metrics m;
        try (Backend backend = device.open(System.err)) {
            // the device batch per image: images, label (twice: the last, smaller batch has buffers of its own)
            int side = Datasets.evalSide(kind, test);
            MemoryPlanner.requireFits(name, config, device.memoryMode(), backend.activationDType(), batch, side, side, false,
                    2L * 4 * ((long) config.inChannels() * side * side + 1), backend.availableMemoryBytes(), backend.memoryLimitNote());
            try (DenseNet net = new DenseNet(config, backend, device.memoryMode(), 0);
                 BatchLoader loader = new BatchLoader(test, Datasets.evalTransform(kind, test), batch, device.workerCount(kind))) {
                try {
                    net.parameters().loadStateDict(state);
                } catch (IllegalArgumentException e) {
                    throw new IOException(weights + " does not fit " + name + ": " + e.getMessage(), e);
                }
                m = Evaluator.evaluate(net, loader, terminal ? new Progress(System.err, true, "eval", loader.batchesPerEpoch(), 30) : null);
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("model", name);
            o.put("weights", weights.toString());
            o.put("dataset", kind.cliName());
            o.put("split", test.name());
            o.put("images", m.count());
            o.put("loss", m.loss());
            o.put("top1", m.top1());
            o.put("top5", m.top5());
            out.println(JsonCodec.write(o));
        } else {
            out.printf(Locale.ROOT, "%s on %s: %,d images  loss %.4f  top-1 %.2f%%  top-5 %.2f%%%n", name, test.name(), m.count(),
                    m.loss(), m.top1(), m.top5());
        }
        out.flush();
        return 0;
    }

    private static int classifierOutputs(Map<String, HostTensor> tensors) {
        HostTensor b = tensors.get("classifier.bias");
        return b == null ? 0 : b.shape()[0];
    }
}
