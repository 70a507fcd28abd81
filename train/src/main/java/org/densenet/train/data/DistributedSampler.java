package org.densenet.train.data;

/**
 * Which samples each of {@code replicas} data-parallel ranks reads in an epoch, as PyTorch's
 * DistributedSampler decides it. Every rank draws the same permutation of the dataset from
 * (seed, epoch), the one a single process uses ({@link BatchLoader#shuffled}); it is padded by
 * wrapping around to a multiple of the rank count (or, with {@code dropLast}, cut to one), and rank
 * r takes positions r, r + R, r + 2R, and so on.
 *
 * <p>The last partial batch: every rank gets the same number of samples, m = ceil(n / R) (floor
 * with dropLast), so every rank makes the same number of steps, ceil(m / b) at batch b, the last
 * one of m mod b samples on every rank (the collectives of a step need every rank). Padding
 * repeats the first ceil(n / R) * R - n samples of the permutation in that epoch.
 *
 * <p>Because shards are strided, the ranks' k-th batches together are exactly the k-th batch of a
 * single process at batch R * b, whenever that batch is full; when R divides n, the last one too.
 * So averaged gradients match the single-process run up to summation order, and changing R changes
 * the order in which samples are grouped (why a resume with another GPU count says so).
 */
public record DistributedSampler(int datasetSize, int replicas, int rank, boolean dropLast) {
    public DistributedSampler {
        if (replicas < 1) throw new IllegalArgumentException("replicas must be >= 1, got " + replicas);
        if (rank < 0 || rank >= replicas) throw new IllegalArgumentException("rank " + rank + " is outside 0.." + (replicas - 1));
        if (datasetSize < 0) throw new IllegalArgumentException("a dataset of " + datasetSize + " samples");
        if (dropLast && datasetSize < replicas) {
            throw new IllegalArgumentException("dropping the uneven tail of " + datasetSize + " samples over " + replicas + " ranks leaves none");
        }
    }

    /** Samples each rank reads per epoch. */
    public int shardSize() {
        return dropLast ? datasetSize / replicas : (datasetSize + replicas - 1) / replicas;
    }

    /** This rank's samples for one epoch, in the order it reads them. */
    public int[] shard(long seed, int epoch) {
        return shardOf(BatchLoader.shuffled(datasetSize, seed, epoch));
    }

    /** This rank's share of a given epoch order (padded or cut as above). */
    public int[] shardOf(int[] order) {
        if (order.length != datasetSize) throw new IllegalArgumentException("an order of " + order.length + " for " + datasetSize + " samples");
        int m = shardSize();
        int[] out = new int[m];
        for (int i = 0; i < m; i++) {
            int position = rank + i * replicas;
            out[i] = order[position % datasetSize];
        }
        return out;
    }

    /**
     * This rank's share of an evaluation set: positions r, r + R, ... of the set in its own order,
     * without padding, so no sample is counted twice when the ranks' sums are all-reduced.
     */
    public static int[] evalShard(int datasetSize, int replicas, int rank) {
        new DistributedSampler(datasetSize, replicas, rank, false);
        int m = datasetSize > rank ? (datasetSize - rank + replicas - 1) / replicas : 0;
        int[] out = new int[m];
        for (int i = 0; i < m; i++) out[i] = rank + i * replicas;
        return out;
    }
}
