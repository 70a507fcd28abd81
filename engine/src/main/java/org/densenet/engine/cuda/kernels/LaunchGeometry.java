package org.densenet.engine.cuda.kernels;

/**
 * Grid and block of one launch, checked against CUDA's limits for every GPU CUDA 13 supports
 * (compute capability 7.5 and newer). The factories are the launch shapes the kernels are written
 * for; every kernel walks its work with grid-stride loops, so capping a grid dimension never drops work.
 */
public record LaunchGeometry(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes) {
    public static final int MAX_GRID_X = Integer.MAX_VALUE;
    public static final int MAX_GRID_YZ = 65535;
    public static final int MAX_BLOCK_THREADS = 1024;
    public static final int MAX_STATIC_SHARED = 48 * 1024;
    /** Threads per block of every launch unless a kernel needs otherwise. */
    public static final int THREADS = 256;
    /** Grid-stride kernels need no more blocks than this to fill any current GPU many times over. */
    public static final int GRID_CAP = 65535;

    public LaunchGeometry {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || gridY > MAX_GRID_YZ || gridZ > MAX_GRID_YZ) {
            throw new IllegalArgumentException("grid " + gridX + "x" + gridY + "x" + gridZ + " outside CUDA's limits (x < 2^31, y, z <= 65535)");
        }
        if (blockX < 1 || blockY < 1 || blockZ < 1 || blockZ > 64 || (long) blockX * blockY * blockZ > MAX_BLOCK_THREADS) {
            throw new IllegalArgumentException("block " + blockX + "x" + blockY + "x" + blockZ + " outside CUDA's limits (at most 1024 threads, z <= 64)");
        }
        if (sharedBytes < 0 || sharedBytes > MAX_STATIC_SHARED) {
            throw new IllegalArgumentException("dynamic shared memory " + sharedBytes + " bytes outside [0, 48 KiB]");
        }
    }

    public int threads() {
        return blockX * blockY * blockZ;
    }

    /**
     * Rows x columns: {@code rows} independent rows of {@code len} elements (DN_ROWS_LOOP /
     * DN_COLS_LOOP in common.cuh). blockX is the smallest power of two >= len within [32, 256], so
     * short rows (7x7, 8x8 planes) share a block instead of leaving most threads idle; blockY fills
     * the block to 256 threads.
     */
    public static LaunchGeometry rows(long rows, long len) {
        positive(rows, "rows");
        positive(len, "row length");
        int bx = blockWidth(len);
        int by = THREADS / bx;
        return new LaunchGeometry(capped(Math.ceilDiv(len, bx)), capped(Math.ceilDiv(rows, by)), 1, bx, by, 1, 0);
    }

    /**
     * How a per-channel reduction over n samples of hw pixels is split among blocks: chunks of
     * {@code samplesPerChunk} whole samples (the last may be shorter), {@code count} of them.
     */
    public record Chunks(int samplesPerChunk, int count) {
    }

    /** Values one block of a chunked reduction aims at: 16 a thread at 256 threads. */
    public static final long CHUNK_VALUES = 4096;
    /** Most chunks per channel: bounds the partial sums a channel's finalising thread adds. */
    public static final int MAX_CHUNKS = 64;

    /**
     * Chunks of about {@link #CHUNK_VALUES} values each, at most {@link #MAX_CHUNKS} and at most one
     * per sample. It depends on the shape only, so a reduction's order, and its result, is fixed.
     */
    public static Chunks chunks(int n, long hw) {
        positive(n, "samples");
        positive(hw, "plane size");
        long wanted = Math.max(1, Math.ceilDiv(Math.multiplyExact((long) n, hw), CHUNK_VALUES));
        int count = (int) Math.min(wanted, Math.min(n, MAX_CHUNKS));
        int perChunk = Math.ceilDiv(n, count);
        return new Chunks(perChunk, Math.ceilDiv(n, perChunk));
    }

    /**
     * Chunked per-channel reductions (bn_stats_partial, bn_backward_reduce): blockIdx.x is the chunk,
     * blockIdx.y the channel (grid-stride beyond 65535 channels); threadIdx.x walks the hw pixels of
     * a plane, threadIdx.y the samples of the chunk.
     */
    public static LaunchGeometry perChannelChunks(int channels, long hw, Chunks chunks) {
        positive(channels, "channels");
        positive(hw, "plane size");
        int bx = blockWidth(hw);
        return new LaunchGeometry(chunks.count(), Math.min(channels, MAX_GRID_YZ), 1, bx, THREADS / bx, 1, 0);
    }

    /** One warp per row, eight rows per block (global average pooling): blockX is exactly 32. */
    public static LaunchGeometry warpPerRow(long rows) {
        positive(rows, "rows");
        return new LaunchGeometry(1, capped(Math.ceilDiv(rows, 8)), 1, 32, 8, 1, 0);
    }

    /** A flat grid-stride loop over {@code count} items. */
    public static LaunchGeometry linear(long count) {
        positive(count, "element count");
        return new LaunchGeometry(capped(Math.ceilDiv(count, THREADS)), 1, 1, THREADS, 1, 1, 0);
    }

    /** A single block of {@code threads} threads (a multiple of 32). */
    public static LaunchGeometry singleBlock(int threads) {
        if (threads % 32 != 0) throw new IllegalArgumentException("block of " + threads + " threads is not a whole number of warps");
        return new LaunchGeometry(1, 1, 1, threads, 1, 1, 0);
    }

    static int blockWidth(long len) {
        int bx = 32;
        while (bx < THREADS && bx < len) bx <<= 1;
        return bx;
    }

    private static int capped(long blocks) {
        return (int) Math.min(blocks, GRID_CAP);
    }

    private static void positive(long v, String what) {
        if (v < 1) throw new IllegalArgumentException(what + " must be >= 1, got " + v);
    }
}
