package org.densenet.engine.io;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

/**
 * The pickle reader behind {@link TorchFile}, restricted as PyTorch's {@code torch.load(weights_only=True)}:
 * a pickle may name only the globals a state dict needs (tensor and parameter rebuilders, storage
 * classes, {@code OrderedDict}, {@code torch.Size}), and {@code argparse.Namespace}, which timm's
 * checkpoints hold and timm allows for weights-only loading; any other global is refused by name before
 * anything is built, so a file that would run code when Python unpickles it is only reported.
 * Tensors come out as {@link TensorRef}s, because the legacy format stores their bytes after the pickle.
 *
 * <p>razorvine's {@code Unpickler} decodes the opcodes; this class takes over those that resolve
 * globals or build objects, keeps dicts in insertion order (state dicts are ordered) and checks
 * every length prefix against the bytes left, so a damaged file cannot ask for gigabytes.
 */
final class TorchUnpickler extends Unpickler {

    /** A storage class named by a pickle; {@code type} is null for those a host tensor cannot hold (complex, quantized). */
    record StorageType(String name, ElementType type) {
    }

    /**
     * The part of a file's storage {@code key} that a persistent id names: {@code numel} elements of the
     * root storage (which has {@code rootNumel}) from element {@code offset} on; legacy files have views.
     */
    record Storage(String key, ElementType type, long rootNumel, long offset, long numel) {
    }

    /** A tensor as {@code _rebuild_tensor_v2} describes it: a storage, an element offset into it, sizes and strides. */
    record TensorRef(Storage storage, long offset, int[] size, long[] stride) {
    }

    /** A refusal: the pickle asks for something a state dict does not need. */
    static final class Refused extends PickleException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    private static final Map<String, ElementType> STORAGES = Map.ofEntries(
            Map.entry("FloatStorage", ElementType.F32), Map.entry("DoubleStorage", ElementType.F64),
            Map.entry("HalfStorage", ElementType.F16), Map.entry("BFloat16Storage", ElementType.BF16),
            Map.entry("LongStorage", ElementType.I64), Map.entry("IntStorage", ElementType.I32),
            Map.entry("ShortStorage", ElementType.I16), Map.entry("CharStorage", ElementType.I8),
            Map.entry("ByteStorage", ElementType.U8), Map.entry("BoolStorage", ElementType.BOOL),
            Map.entry("UntypedStorage", ElementType.U8));
    /** Storage classes torch.load(weights_only=True) allows whose elements no host tensor holds. */
    private static final List<String> UNREADABLE_STORAGES = List.of("ComplexFloatStorage", "ComplexDoubleStorage",
            "QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage");

    /** Every storage the pickle named, by key, as the legacy format's trailing storages are checked against them. */
    private final Map<String, Storage> storages;

    /** {@code storages} collects the storages named by persistent ids; pass the same map to read them afterwards. */
    TorchUnpickler(Map<String, Storage> storages) {
        this.storages = storages;
    }

    @Override
    public Object load(InputStream stream) throws PickleException, IOException {
        if (!stream.markSupported()) throw new IllegalArgumentException("the pickle stream must support mark/reset");
        return super.load(stream);
    }

    @Override
    protected Object dispatch(short key) throws PickleException, IOException {
        switch (key) {
            case Opcodes.GLOBAL -> {
                String module = PickleUtils.readline(input);
                stack.add(global(module, PickleUtils.readline(input)));
            }
            case Opcodes.STACK_GLOBAL -> {
                Object name = stack.pop();
                stack.add(global(String.valueOf(stack.pop()), String.valueOf(name)));
            }
            case Opcodes.INST -> {
                String module = PickleUtils.readline(input);
                throw refusedGlobal(module, PickleUtils.readline(input));
            }
            case Opcodes.BUILD -> {
                stack.pop();
                Object target = stack.peek();
                // An OrderedDict's state is its attributes: a state dict's _metadata (module versions), which
                // BatchNorm would consult only to decide that a missing num_batches_tracked becomes 0, as we always do.
                if (!(target instanceof Map<?, ?>)) {
                    throw new Refused("refused to set the state of a " + describe(target) + " (only dicts' state is read)");
                }
            }
            case Opcodes.EMPTY_DICT -> stack.add(new LinkedHashMap<>());
            case Opcodes.DICT -> {
                Map<Object, Object> map = new LinkedHashMap<>();
                putPairs(map, stack.pop_all_since_marker());
                stack.add(map);
            }
            case Opcodes.SETITEMS -> {
                List<Object> items = stack.pop_all_since_marker();
                if (!(stack.peek() instanceof Map<?, ?> m)) throw new PickleException("SETITEMS on a " + describe(stack.peek()));
                @SuppressWarnings("unchecked")
                Map<Object, Object> map = (Map<Object, Object>) m;
                putPairs(map, items);
            }
            case Opcodes.BINSTRING, Opcodes.BINUNICODE, Opcodes.BINBYTES -> {
                checkLength(4);
                return super.dispatch(key);
            }
            case Opcodes.BINUNICODE8, Opcodes.BINBYTES8, Opcodes.BYTEARRAY8 -> {
                checkLength(8);
                return super.dispatch(key);
            }
            default -> {
                return super.dispatch(key);
            }
        }
        return NO_RETURN_VALUE;
    }

    /**
     * Zip format: {@code ('storage', storage class, key, location, numel)}. Legacy format:
     * {@code ('storage', storage class, root key, location, root numel, view)} where view is null or
     * {@code (view key, element offset, numel)}.
     */
    @Override
    protected Object persistentLoad(Object pid) {
        if (!(pid instanceof Object[] t) || t.length < 5 || !"storage".equals(t[0])) {
            throw new Refused("refused persistent id " + describe(pid) + ": only storages are read"
                    + (pid instanceof Object[] u && u.length > 0 && "module".equals(u[0]) ? " (the file holds a pickled module, not a state dict)" : ""));
        }
        if (!(t[1] instanceof StorageType st)) throw new PickleException("persistent id names no storage class: " + describe(t[1]));
        if (st.type == null) throw new Refused("a tensor of " + st.name + " cannot be read: its elements are complex or quantized numbers");
        String key = String.valueOf(t[2]);
        long numel = number(t[4], "storage size");
        Storage root = new Storage(key, st.type, numel, 0, numel);
        Storage known = storages.putIfAbsent(key, root);
        if (known != null && (known.type != root.type || known.rootNumel != root.rootNumel)) {
            throw new PickleException("storage " + key + " is named as both " + known.type + "[" + known.rootNumel + "] and "
                    + root.type + "[" + root.rootNumel + "]");
        }
        if (t.length > 5 && t[5] instanceof Object[] view) {
            if (view.length != 3) throw new PickleException("storage view " + describe(view) + " is not (key, offset, size)");
            return new Storage(key, st.type, numel, number(view[1], "view offset"), number(view[2], "view size"));
        }
        return root;
    }

    private Object global(String module, String name) {
        String full = module + "." + name;
        if (module.equals("torch") && STORAGES.containsKey(name)) return new StorageType(full, STORAGES.get(name));
        if (module.equals("torch") && UNREADABLE_STORAGES.contains(name)) return new StorageType(full, null);
        return switch (full) {
            case "collections.OrderedDict" -> (IObjectConstructor) TorchUnpickler::orderedDict;
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> (IObjectConstructor) TorchUnpickler::tensor;
            // a parameter is its data; requires_grad and hooks do not matter to weights
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch.nn.parameter.Parameter" ->
                    (IObjectConstructor) args -> args[0];
            case "torch.Size" -> (IObjectConstructor) args -> args.length == 0 ? new Object[0] : args[0];
            // timm's training checkpoints keep the run's arguments beside the weights; a Namespace is only a bag of
            // attributes, built here as an empty dict (its attributes are not needed) without running anything
            case "argparse.Namespace" -> (IObjectConstructor) args -> new LinkedHashMap<>();
            default -> throw refusedGlobal(module, name);
        };
    }

    private static Refused refusedGlobal(String module, String name) {
        return new Refused("refused global " + module + "." + name + ": only what a state dict needs (tensors, storages, OrderedDict)"
                + " is read, as torch.load(weights_only=True) does, because another global could run code when unpickled");
    }

    private static Object orderedDict(Object[] args) {
        Map<Object, Object> map = new LinkedHashMap<>();
        if (args.length > 0 && args[0] instanceof List<?> pairs) {
            for (Object p : pairs) {
                if (!(p instanceof Object[] kv) || kv.length != 2) throw new PickleException("OrderedDict item " + describe(p) + " is not a pair");
                map.put(kv[0], kv[1]);
            }
        }
        return map;
    }

    /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
    private static Object tensor(Object[] args) {
        if (args.length < 4 || !(args[0] instanceof Storage s) || !(args[2] instanceof Object[] size) || !(args[3] instanceof Object[] stride)
                || size.length != stride.length) {
            throw new PickleException("a tensor must be rebuilt from (storage, offset, size, stride), got " + describe(args));
        }
        int[] sizes = new int[size.length];
        long[] strides = new long[size.length];
        for (int i = 0; i < size.length; i++) {
            long d = number(size[i], "tensor size");
            if (d > Integer.MAX_VALUE) throw new PickleException("tensor dimension " + d + " is too large");
            sizes[i] = (int) d;
            strides[i] = number(stride[i], "tensor stride");
        }
        return new TensorRef(s, number(args[1], "storage offset"), sizes, strides);
    }

    private static long number(Object o, String what) {
        if (!(o instanceof Integer || o instanceof Long) || ((Number) o).longValue() < 0) {
            throw new PickleException(what + " must be a non-negative integer, got " + describe(o));
        }
        return ((Number) o).longValue();
    }

    private static void putPairs(Map<Object, Object> map, List<Object> items) {
        if (items.size() % 2 != 0) throw new PickleException("a dict needs key-value pairs, got " + items.size() + " items");
        for (int i = 0; i < items.size(); i += 2) map.put(items.get(i), items.get(i + 1));
    }

    /** Peeks at a little-endian length prefix and refuses one longer than what is left of the input. */
    private void checkLength(int bytes) throws IOException {
        input.mark(bytes);
        byte[] b = PickleUtils.readbytes(input, bytes);
        long n = bytes == 4 ? PickleUtils.bytes_to_integer(b) & 0xffffffffL : PickleUtils.bytes_to_long(b, 0);
        int left = input.available();
        input.reset();
        if (n < 0 || n > left) throw new IOException("premature end of file: a string of " + n + " bytes, " + left + " bytes left");
    }

    static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof Object[] a) {
            List<String> parts = new ArrayList<>();
            for (Object e : a) parts.add(describe(e));
            return "(" + String.join(", ", parts) + ")";
        }
        if (o instanceof String s) return "'" + s + "'";
        if (o instanceof Number || o instanceof Boolean) return o.toString();
        if (o instanceof StorageType st) return st.name;
        return o.getClass().getSimpleName();
    }
}
