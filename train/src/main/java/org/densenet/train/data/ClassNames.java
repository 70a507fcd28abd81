package org.densenet.train.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Human-readable class names, index by label: the datasets' own for CIFAR and Fashion-MNIST, and
 * ImageNet-1k's (torchvision's list, in the order of the sorted WordNet ids that its weights use)
 * for 1000-class networks whose file names none. Checkpoints store the names of the run's dataset.
 */
public final class ClassNames {
    private static final List<String> CIFAR10 = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
            "ship", "truck");
    private static final List<String> FASHION_MNIST = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
            "Shirt", "Sneaker", "Bag", "Ankle boot");
    // CIFAR-100's fine labels, in their label order (alphabetical), as its meta file lists them.
    private static final List<String> CIFAR100 = List.of("apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
            "bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair",
            "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant",
            "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
            "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
            "otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit",
            "raccoon", "ray", "road", "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
            "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger",
            "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm");
    private static volatile List<String> imagenet;

    private ClassNames() {
    }

    /** The names of {@code kind}'s classes, or null where the dataset has none of its own (ImageNet folders name theirs). */
    public static List<String> of(DatasetKind kind) {
        return switch (kind) {
            case CIFAR10 -> CIFAR10;
            case CIFAR100 -> CIFAR100;
            case FASHION_MNIST -> FASHION_MNIST;
            case IMAGENET, SYNTHETIC -> null;
        };
    }

    /** ImageNet-1k's 1000 class names, index by label. */
    public static List<String> imagenet1k() {
        List<String> names = imagenet;
        if (names != null) return names;
        try (InputStream in = ClassNames.class.getResourceAsStream("imagenet1k-classes.txt")) {
            if (in == null) throw new IllegalStateException("imagenet1k-classes.txt is missing from the jar");
            names = List.copyOf(new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (names.size() != 1000) throw new IllegalStateException("imagenet1k-classes.txt has " + names.size() + " names, not 1000");
        return imagenet = names;
    }

    /**
     * Names for a network with {@code classes} outputs: {@code known} when it has that many, else
     * ImageNet-1k's for 1000 outputs, else "class 0", "class 1", ...
     */
    public static List<String> forOutputs(List<String> known, int classes) {
        if (known != null && known.size() == classes) return known;
        if (classes == 1000) return imagenet1k();
        List<String> n = new ArrayList<>(classes);
        for (int i = 0; i < classes; i++) n.add("class " + i);
        return n;
    }

    /** Names as one metadata string, one a line (folder and class names hold no line breaks). */
    public static String join(List<String> names) {
        return String.join("\n", names);
    }

    public static List<String> split(String joined) {
        return joined == null || joined.isEmpty() ? null : joined.lines().toList();
    }
}
