package org.densenet.model;

import java.util.Arrays;

/** One trainable parameter: its torchvision name, shape, and element offset in the flat parameter buffer. */
public record Param(String name, int[] shape, long offset) {
    public Param {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a parameter needs a name");
        if (offset < 0) throw new IllegalArgumentException("parameter " + name + " has a negative offset " + offset);
        shape = shape.clone();
        for (int d : shape) {
            if (d < 1) throw new IllegalArgumentException("parameter " + name + " has an empty dimension: " + Arrays.toString(shape));
        }
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    public long numel() {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Param p && name.equals(p.name) && Arrays.equals(shape, p.shape) && offset == p.offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape) + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + "@" + offset;
    }
}
