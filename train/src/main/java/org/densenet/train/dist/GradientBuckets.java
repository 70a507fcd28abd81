package org.densenet.train.dist;

import java.util.ArrayList;
import java.util.List;

import org.densenet.model.Param;

/**
 * Groups the flat gradient buffer into buckets for all-reduce, as PyTorch DDP does: parameters are
 * taken in reverse registration order, which is the order backward finishes their gradients (the
 * classifier first, the stem last), and a bucket closes once it holds {@code capBytes}; the first
 * bucket closes at {@code firstCapBytes} so that communication starts early in backward. Because
 * the parameters tile one flat buffer in registration order, every bucket is one contiguous range
 * of it, reduced in place by a single call. A parameter is never split: one larger than the cap
 * is a bucket of its own.
 */
public final class GradientBuckets {
    /** DDP's bucket_cap_mb default, 25 MiB. */
    public static final long DEFAULT_CAP_BYTES = 25L << 20;
    /** DDP's first bucket, 1 MiB. */
    public static final long DEFAULT_FIRST_CAP_BYTES = 1L << 20;

    /**
     * Elements [offset, offset + count) of the flat buffer; ready when backward has produced the
     * gradient of parameter {@code lastParam}, the lowest-offset one, which backward reaches last.
     */
    public record Bucket(int index, long offset, long count, int firstParam, int lastParam) {
        public Bucket {
            if (count < 1 || offset < 0) throw new IllegalArgumentException("bucket " + index + ": " + count + " elements at " + offset);
        }

        /** "bucket 2 (elements 4,096..1,052,671, parameters 51..12)". */
        public String describe() {
            return String.format(java.util.Locale.ROOT, "bucket %d (elements %,d..%,d, parameters %d..%d)", index, offset, offset + count - 1,
                    firstParam, lastParam);
        }
    }

    private GradientBuckets() {
    }

    public static List<Bucket> plan(List<Param> params) {
        return plan(params, Float.BYTES, DEFAULT_FIRST_CAP_BYTES, DEFAULT_CAP_BYTES);
    }

    /** Buckets in the order backward fills them; parameter indices are positions in {@code params}. */
    public static List<Bucket> plan(List<Param> params, int bytesPerElement, long firstCapBytes, long capBytes) {
        if (bytesPerElement < 1 || firstCapBytes < 1 || capBytes < 1) throw new IllegalArgumentException("sizes must be positive");
        checkTiling(params);
        List<Bucket> out = new ArrayList<>();
        int i = params.size() - 1;
        while (i >= 0) {
            long cap = out.isEmpty() ? firstCapBytes : capBytes;
            int first = i;
            long bytes = params.get(i).numel() * bytesPerElement;
            i--;
            while (i >= 0 && bytes + params.get(i).numel() * bytesPerElement <= cap) {
                bytes += params.get(i).numel() * bytesPerElement;
                i--;
            }
            Param low = params.get(i + 1), high = params.get(first);
            out.add(new Bucket(out.size(), low.offset(), high.offset() + high.numel() - low.offset(), first, i + 1));
        }
        return out;
    }

    /** The planner's premise: registration order is offset order, without gaps or overlaps, from 0. */
    private static void checkTiling(List<Param> params) {
        long next = 0;
        for (Param p : params) {
            if (p.offset() != next) {
                throw new IllegalArgumentException("parameter " + p + " does not start where the previous one ends (" + next
                        + "): buckets need parameters that tile the flat buffer in order");
            }
            next += p.numel();
        }
    }

    /** Which bucket holds each parameter (by position in the list the plan was made from). */
    public static int[] bucketOfParam(List<Bucket> buckets, int paramCount) {
        int[] of = new int[paramCount];
        for (Bucket b : buckets) for (int p = b.lastParam(); p <= b.firstParam(); p++) of[p] = b.index();
        return of;
    }
}
