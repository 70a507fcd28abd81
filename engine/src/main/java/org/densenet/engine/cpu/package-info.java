/**
 * The CPU backend: plain Java arrays, one fixed thread pool, every {@link org.densenet.engine.Backend}
 * op in float32 and float64. It is the reference the CUDA backend is tested against and the
 * backend used where no GPU is found.
 *
 * <h2>Where each op lives</h2>
 * Kernel families are written once, in float ({@code XxxF32}); the build generates the float64
 * twins ({@code XxxF64}) by replacing the precision tokens (engine/pom.xml), so a kernel file
 * must not use float literals with an {@code f} suffix or anything else that breaks under that
 * replacement. {@link org.densenet.engine.cpu.CpuBackend} and {@code CpuOps} check arguments and
 * dispatch on the dtype.
 * <table>
 *   <caption>ops, kernels and tests</caption>
 *   <tr><th>ops</th><th>kernel class</th><th>tests</th></tr>
 *   <tr><td>convForward, convBackwardData, convBackwardFilter</td><td>ConvF32 over GemmF32</td>
 *       <td>CpuGradientCheckTest, CpuTorchFixtureTest, GemmTest</td></tr>
 *   <tr><td>batchNormStatistics, -UpdateRunning, -Apply, -Backward</td><td>NormF32</td>
 *       <td>CpuGradientCheckTest, CpuTorchFixtureTest</td></tr>
 *   <tr><td>avg/max/global pooling, forward and backward</td><td>PoolF32</td>
 *       <td>CpuGradientCheckTest, CpuTorchFixtureTest</td></tr>
 *   <tr><td>linearForward, linearBackward, softmaxCrossEntropy</td><td>DenseF32</td>
 *       <td>CpuGradientCheckTest, CpuTorchFixtureTest, CpuBackendBasicsTest (top-k ties)</td></tr>
 *   <tr><td>fill, copy, relu, reluBackward, dropout, sgdStep</td><td>ElementwiseF32</td>
 *       <td>CpuGradientCheckTest, CpuTorchFixtureTest (SGD), CpuBackendBasicsTest (dropout mask)</td></tr>
 *   <tr><td>scaleLossGradient, checkGradientsAndUpdateScale, loss-scaled sgdStep</td><td>CpuLossScaling over ElementwiseF32</td>
 *       <td>CpuLossScalingTest</td></tr>
 *   <tr><td>allocate, memoryStats, upload, download</td><td>CpuStorage, CpuAllocator, Transfers</td>
 *       <td>CpuBackendBasicsTest</td></tr>
 * </table>
 * Every op, in both precisions and on 1, 2 and 3 threads: CpuConsistencyTest; channel-slice
 * outputs that leave the other channels alone: CpuChannelSliceTest. PyTorch fixtures come from
 * scripts/fixtures/make_op_fixtures.py.
 *
 * <h2>Determinism</h2>
 * Tasks are handed out dynamically, but every task computes its own outputs and every
 * reduction runs in a fixed order (per channel over samples in order; filter gradients over a
 * fixed number of sample groups added in group order), so results are bit-identical for any
 * thread count and a checkpoint resumes exactly.
 *
 * <h2>Speed</h2>
 * C2 (JDK 25) vectorises a loop only if it can rule out that a store overlaps a load of a later
 * iteration; with two float arrays at unrelated offsets it cannot, and the loop stays scalar
 * (about a quarter of the speed). The hot loops are therefore written so that every array is
 * indexed at the same position: the GEMM packs each row of B into an array of its own and
 * accumulates each row of C in another, and batch norm transforms planes in place or in
 * separate row arrays. Convolutions are per-sample GEMMs: 1x1 stride-1 convolutions read the
 * input in place, other stride-1 ones read a zero-padded copy at row offsets, strided ones go
 * through im2col; stride-1 backward-data is a convolution with the flipped filter; stride-1
 * filter gradients read a transposed, padded input at row shifts, one
 * per filter tap, instead of transposing the R*S times larger column matrix. Work is split by
 * sample (and by output rows when samples are fewer than threads), by channel for batch norm,
 * and by fixed sample groups for filter gradients.
 *
 * <p>Ops that use the per-thread scratch buffers (convolutions, batch-norm statistics and
 * backward, linear) run one at a time, whichever thread calls them.
 */
package org.densenet.engine.cpu;
