package org.densenet.model.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import org.densenet.engine.io.HostTensor;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.Stem;

/**
 * A DenseNet's inference graph as an ONNX model (IR version 7, operator set 13, which current
 * ONNX runtimes support; the tests run it in ONNX Runtime), with the weights inside under
 * torchvision's state-dict names. The graph is the network in evaluation mode, layer for layer:
 * BatchNormalization with the running statistics, Relu, Conv, Concat for each dense layer's
 * input, AveragePool in the transitions, then GlobalAveragePool, Flatten and Gemm; dropout is the
 * identity at inference and does not appear.
 *
 * <p>Input {@value #INPUT}: float [batch, C, height, width], any batch and any image size the
 * network accepts. Output {@value #OUTPUT}: float [batch, classes], before softmax. With a
 * {@link Normalization} the graph takes pixel values in [0, 1] and subtracts the mean and divides
 * by the standard deviation itself; without one it takes already normalised images.
 */
public final class OnnxExport {
    public static final String INPUT = "input";
    public static final String OUTPUT = "logits";
    public static final long IR_VERSION = 7;
    public static final long OPSET = 13;

    // onnx.proto's field numbers and enum values
    private static final int MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3, MODEL_DOC = 6,
            MODEL_GRAPH = 7, MODEL_OPSET = 8, MODEL_METADATA = 14;
    private static final int OPSET_DOMAIN = 1, OPSET_VERSION = 2;
    private static final int GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12;
    private static final int NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP = 4, NODE_ATTRIBUTE = 5;
    private static final int ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_INTS = 8, ATTR_TYPE = 20;
    private static final int ATTR_TYPE_FLOAT = 1, ATTR_TYPE_INT = 2, ATTR_TYPE_INTS = 7;
    private static final int TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW = 9;
    private static final int FLOAT = 1;
    private static final int VALUE_NAME = 1, VALUE_TYPE = 2;
    private static final int TYPE_TENSOR = 1, TENSOR_TYPE_ELEM = 1, TENSOR_TYPE_SHAPE = 2, SHAPE_DIM = 1;
    private static final int DIM_VALUE = 1, DIM_PARAM = 2;
    private static final int ENTRY_KEY = 1, ENTRY_VALUE = 2;

    /** Per-channel mean and standard deviation of pixel values in [0, 1]. */
    public record Normalization(double[] mean, double[] std) {
        public Normalization {
            Objects.requireNonNull(mean, "mean");
            Objects.requireNonNull(std, "std");
            if (mean.length != std.length || mean.length == 0) {
                throw new IllegalArgumentException("normalization needs one mean and one std per channel, got " + mean.length + " and " + std.length);
            }
            for (double s : std) {
                if (!(s > 0)) throw new IllegalArgumentException("normalization std must be > 0, got " + Arrays.toString(std));
            }
            mean = mean.clone();
            std = std.clone();
        }
    }

    /**
     * @param graphName     the graph's name (e.g. the model's)
     * @param normalization preprocessing to build into the graph, or null for normalised input
     * @param metadata      key-value pairs stored in the model (configuration, dataset, ...)
     * @param producerVersion the version of this program, recorded in the file
     */
    public record Options(String graphName, Normalization normalization, Map<String, String> metadata, String producerVersion) {
        public Options {
            Objects.requireNonNull(graphName, "graphName");
            metadata = metadata == null ? Map.of() : new LinkedHashMap<>(metadata);
            producerVersion = producerVersion == null ? "" : producerVersion;
        }
    }

    private OnnxExport() {
    }

    /**
     * The ONNX model of {@code config} with the weights of {@code state} (every tensor the
     * network has, under torchvision's names; extra entries such as num_batches_tracked are
     * ignored). Throws when a tensor is missing or has the wrong shape.
     */
    public static byte[] toBytes(DenseNetConfig config, Map<String, HostTensor> state, Options options) {
        Normalization norm = options.normalization();
        if (norm != null && norm.mean().length != config.inChannels()) {
            throw new IllegalArgumentException("normalization has " + norm.mean().length + " channels, the network takes "
                    + config.inChannels());
        }
        Graph g = new Graph(state);
        String x = INPUT;
        if (norm != null) {
            float[] mean = new float[norm.mean().length], std = new float[norm.std().length];
            for (int i = 0; i < mean.length; i++) {
                mean[i] = (float) norm.mean()[i];
                std[i] = (float) norm.std()[i];
            }
            g.constant("preprocess.mean", mean, 1, mean.length, 1, 1);
            g.constant("preprocess.std", std, 1, std.length, 1, 1);
            x = g.node("Sub", "preprocess.centred", new String[] {x, "preprocess.mean"});
            x = g.node("Div", "preprocess.normalized", new String[] {x, "preprocess.std"});
        }

        // stem: conv0 (CIFAR 3x3; ImageNet 7x7/2, norm0, relu0, pool0 3x3/2)
        boolean cifar = config.stem() == Stem.CIFAR;
        x = g.conv("features.conv0", x, config.initFeatures(), config.inChannels(), cifar ? 3 : 7, cifar ? 1 : 2, cifar ? 1 : 3);
        if (!cifar) {
            x = g.bnRelu("features.norm0", "features.relu0", x, config.initFeatures());
            x = g.node("MaxPool", "features.pool0", new String[] {x}, ints("kernel_shape", 3, 3), ints("strides", 2, 2),
                    ints("pads", 1, 1, 1, 1));
        }

        int k = config.growthRate();
        for (int b = 0; b < config.blockCount(); b++) {
            int c = config.blockInputChannels(b);
            String block = "features.denseblock" + (b + 1);
            for (int l = 0; l < config.layers(b); l++, c += k) {
                String layer = block + ".denselayer" + (l + 1);
                String y = g.bnRelu(layer + ".norm1", layer + ".relu1", x, c);
                if (config.bottleneck()) {
                    int w = config.bottleneckChannels();
                    y = g.conv(layer + ".conv1", y, w, c, 1, 1, 0);
                    y = g.bnRelu(layer + ".norm2", layer + ".relu2", y, w);
                    y = g.conv(layer + ".conv2", y, k, w, 3, 1, 1);
                } else {
                    y = g.conv(layer + ".conv1", y, k, c, 3, 1, 1);
                }
                x = g.node("Concat", layer + ".concat", new String[] {x, y}, integer("axis", 1));
            }
            if (b < config.blockCount() - 1) {
                String t = "features.transition" + (b + 1);
                String y = g.bnRelu(t + ".norm", t + ".relu", x, c);
                y = g.conv(t + ".conv", y, config.blockInputChannels(b + 1), c, 1, 1, 0);
                x = g.node("AveragePool", t + ".pool", new String[] {y}, ints("kernel_shape", 2, 2), ints("strides", 2, 2));
            }
        }

        int f = config.finalChannels();
        x = g.bnRelu("features.norm5", "features.relu5", x, f);
        x = g.node("GlobalAveragePool", "pool", new String[] {x});
        x = g.node("Flatten", "flatten", new String[] {x}, integer("axis", 1));
        g.weight("classifier.weight", config.numClasses(), f);
        g.weight("classifier.bias", config.numClasses());
        g.node("Gemm", OUTPUT, new String[] {x, "classifier.weight", "classifier.bias"}, integer("transB", 1));

        ProtoWriter graph = g.graph;
        graph.string(GRAPH_NAME, options.graphName());
        graph.message(GRAPH_INPUT, valueInfo(INPUT, new Object[] {"batch", (long) config.inChannels(), "height", "width"}));
        graph.message(GRAPH_OUTPUT, valueInfo(OUTPUT, new Object[] {"batch", (long) config.numClasses()}));

        ProtoWriter model = new ProtoWriter()
                .varint(MODEL_IR_VERSION, IR_VERSION)
                .string(MODEL_PRODUCER_NAME, "densenet")
                .string(MODEL_PRODUCER_VERSION, options.producerVersion())
                .string(MODEL_DOC, "DenseNet inference graph: input " + INPUT + " [batch, " + config.inChannels() + ", height, width]"
                        + (norm != null ? ", pixel values in [0, 1] (normalised inside the graph)" : ", normalised")
                        + "; output " + OUTPUT + " [batch, " + config.numClasses() + "], before softmax")
                .message(MODEL_GRAPH, graph)
                .message(MODEL_OPSET, new ProtoWriter().string(OPSET_DOMAIN, "").varint(OPSET_VERSION, OPSET));
        for (Map.Entry<String, String> e : options.metadata().entrySet()) {
            model.message(MODEL_METADATA, new ProtoWriter().string(ENTRY_KEY, e.getKey()).string(ENTRY_VALUE, e.getValue()));
        }
        return model.toByteArray();
    }

    /** A float tensor's name and type, its dimensions either fixed (Long) or named (String). */
    private static ProtoWriter valueInfo(String name, Object[] dims) {
        ProtoWriter shape = new ProtoWriter();
        for (Object d : dims) {
            ProtoWriter dim = new ProtoWriter();
            if (d instanceof Long v) dim.varint(DIM_VALUE, v);
            else dim.string(DIM_PARAM, (String) d);
            shape.message(SHAPE_DIM, dim);
        }
        ProtoWriter tensorType = new ProtoWriter().varint(TENSOR_TYPE_ELEM, FLOAT).message(TENSOR_TYPE_SHAPE, shape);
        return new ProtoWriter().string(VALUE_NAME, name).message(VALUE_TYPE, new ProtoWriter().message(TYPE_TENSOR, tensorType));
    }

    private static ProtoWriter ints(String name, long... values) {
        ProtoWriter a = new ProtoWriter().string(ATTR_NAME, name).varint(ATTR_TYPE, ATTR_TYPE_INTS);
        for (long v : values) a.varint(ATTR_INTS, v);
        return a;
    }

    private static ProtoWriter integer(String name, long value) {
        return new ProtoWriter().string(ATTR_NAME, name).varint(ATTR_TYPE, ATTR_TYPE_INT).varint(ATTR_I, value);
    }

    private static ProtoWriter real(String name, float value) {
        return new ProtoWriter().string(ATTR_NAME, name).varint(ATTR_TYPE, ATTR_TYPE_FLOAT).float32(ATTR_F, value);
    }

    /** The graph under construction: nodes in topological order, initializers from the state dict. */
    private static final class Graph {
        final ProtoWriter graph = new ProtoWriter();
        private final Map<String, HostTensor> state;

        Graph(Map<String, HostTensor> state) {
            this.state = state;
        }

        /** Adds a node whose single output (and node name) is {@code output}; returns the output. */
        String node(String op, String output, String[] inputs, ProtoWriter... attributes) {
            ProtoWriter n = new ProtoWriter();
            for (String in : inputs) n.string(NODE_INPUT, in);
            n.string(NODE_OUTPUT, output).string(NODE_NAME, output).string(NODE_OP, op);
            for (ProtoWriter a : attributes) n.message(NODE_ATTRIBUTE, a);
            graph.message(GRAPH_NODE, n);
            return output;
        }

        String conv(String name, String x, int out, int in, int kernel, int stride, int pad) {
            weight(name + ".weight", out, in, kernel, kernel);
            return node("Conv", name, new String[] {x, name + ".weight"}, ints("kernel_shape", kernel, kernel),
                    ints("strides", stride, stride), ints("pads", pad, pad, pad, pad));
        }

        /** BatchNormalization with the running statistics, then Relu; returns the Relu's output. */
        String bnRelu(String norm, String relu, String x, int channels) {
            for (String p : new String[] {".weight", ".bias", ".running_mean", ".running_var"}) weight(norm + p, channels);
            String y = node("BatchNormalization", norm, new String[] {x, norm + ".weight", norm + ".bias", norm + ".running_mean",
                    norm + ".running_var"}, real("epsilon", (float) DenseNet.BATCH_NORM_EPS));
            return node("Relu", relu, new String[] {y});
        }

        /** The state dict's tensor {@code name} as an initializer, after checking its shape. */
        void weight(String name, int... shape) {
            HostTensor t = state.get(name);
            if (t == null) throw new IllegalArgumentException("the weights have no " + name);
            if (!Arrays.equals(t.shape(), shape)) {
                throw new IllegalArgumentException(name + " has shape " + Arrays.toString(t.shape()) + ", the network needs "
                        + Arrays.toString(shape));
            }
            if (!t.dtype().isFloating()) throw new IllegalArgumentException(name + " is " + t.dtype() + ", not floating point");
            constant(name, t.toFloatArray(), shape);
        }

        void constant(String name, float[] values, int... shape) {
            ProtoWriter tensor = new ProtoWriter();
            for (int d : shape) tensor.varint(TENSOR_DIMS, d);
            ByteBuffer raw = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            raw.asFloatBuffer().put(values);
            tensor.varint(TENSOR_DATA_TYPE, FLOAT).string(TENSOR_NAME, name).bytes(TENSOR_RAW, raw.array());
            graph.message(GRAPH_INITIALIZER, tensor);
        }
    }
}
