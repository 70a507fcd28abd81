package org.densenet.train.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.densenet.engine.cpu.CpuBackend;
import org.densenet.model.DenseNet;
import org.densenet.model.DenseNetConfig;
import org.densenet.model.MemoryMode;
import org.densenet.model.Param;
import org.densenet.train.dist.GradientBuckets.Bucket;
import org.junit.jupiter.api.Test;

class GradientBucketsTest {
    @Test
    void bucketsFillFromTheEndWithASmallFirstOneAndNeverSplitAParameter() {
        // elements 10, 20, 5, 40, 3 at offsets 0, 10, 30, 35, 75; caps of 10 elements, then 25
        List<Param> params = List.of(new Param("a", new int[] {10}, 0), new Param("b", new int[] {4, 5}, 10), new Param("c", new int[] {5}, 30),
                new Param("d", new int[] {40}, 35), new Param("e", new int[] {3}, 75));
        List<Bucket> plan = GradientBuckets.plan(params, 4, 40, 100);
        assertEquals(List.of(new Bucket(0, 75, 3, 4, 4), new Bucket(1, 35, 40, 3, 3), new Bucket(2, 10, 25, 2, 1), new Bucket(3, 0, 10, 0, 0)), plan);
        assertArrayEquals(new int[] {3, 2, 2, 1, 0}, GradientBuckets.bucketOfParam(plan, params.size()));
        assertEquals("bucket 2 (elements 10..34, parameters 2..1)", plan.get(2).describe());
    }

    @Test
    void densenet121sBucketsTileItsFlatGradientBufferInBackwardOrder() {
        try (CpuBackend cpu = new CpuBackend(1);
             DenseNet net = new DenseNet(DenseNetConfig.preset("densenet121"), cpu, MemoryMode.SHARED, 0)) {
            List<Param> params = net.parameters().list();
            List<Bucket> plan = GradientBuckets.plan(params);
            long end = net.parameters().count();
            for (Bucket b : plan) {
                assertEquals(end, b.offset() + b.count(), b.describe() + " does not end where the next-later one starts");
                end = b.offset();
                long bytes = b.count() * Float.BYTES;
                long cap = b.index() == 0 ? GradientBuckets.DEFAULT_FIRST_CAP_BYTES : GradientBuckets.DEFAULT_CAP_BYTES;
                assertTrue(bytes <= cap || b.firstParam() == b.lastParam(), b.describe() + " holds " + bytes + " bytes");
            }
            assertEquals(0, end);
            assertEquals("classifier.bias", params.get(plan.get(0).firstParam()).name(), "the classifier's gradient comes first in backward");
            assertEquals("features.conv0.weight", params.get(plan.get(plan.size() - 1).lastParam()).name());
            // 7,978,856 float32 gradients, 31.9 MB: a 1 MiB bucket, a 25 MiB one and the rest
            assertEquals(3, plan.size());
        }
    }

    @Test
    void parametersThatDoNotTileTheBufferAreRefused() {
        List<Param> gap = List.of(new Param("a", new int[] {4}, 0), new Param("b", new int[] {4}, 5));
        assertEquals("parameter b[4]@5 does not start where the previous one ends (4): buckets need parameters that tile the flat buffer in order",
                assertThrows(IllegalArgumentException.class, () -> GradientBuckets.plan(gap)).getMessage());
    }
}
