package org.densenet.engine.cuda;

import org.densenet.engine.LossResult;
import org.densenet.engine.Pool2d;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;

/**
 * The ops that run in the project's own CUDA kernels (kernels module, launched through
 * org.densenet.engine.cuda.kernels). This build does not include them yet: each op says so.
 */
final class KernelOps implements AutoCloseable {
    private KernelOps() {
    }

    static KernelOps load(CudaBackend backend, CudaContext ctx, DeviceAllocator allocator) {
        return new KernelOps();
    }

    private static UnsupportedOperationException missing(String op) {
        return new UnsupportedOperationException(op + " on the GPU needs the project's CUDA kernels, which this build does not include yet");
    }

    void relu(Tensor x, Tensor y) {
        throw missing("relu");
    }

    void reluBackward(Tensor y, Tensor dy, Tensor dx, boolean accumulate) {
        throw missing("relu backward");
    }

    void batchNormStatistics(Tensor x, Tensor mean, Tensor var) {
        throw missing("batch-norm statistics");
    }

    void batchNormUpdateRunning(Tensor mean, Tensor var, long count, double momentum, Tensor runningMean, Tensor runningVar) {
        throw missing("batch-norm running statistics");
    }

    void batchNormApply(Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu, Tensor y) {
        throw missing("batch-norm");
    }

    void batchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu,
                           Tensor dx, boolean accumulateDx, Tensor dgamma, Tensor dbeta) {
        throw missing("batch-norm backward");
    }

    void avgPoolForward(Tensor x, Tensor y, Pool2d pool) {
        throw missing("average pooling");
    }

    void avgPoolBackward(Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        throw missing("average pooling backward");
    }

    void maxPoolForward(Tensor x, Tensor y, Pool2d pool) {
        throw missing("max pooling");
    }

    void maxPoolBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        throw missing("max pooling backward");
    }

    void globalAvgPoolForward(Tensor x, Tensor y) {
        throw missing("global average pooling");
    }

    void globalAvgPoolBackward(Tensor dy, Tensor dx, boolean accumulate) {
        throw missing("global average pooling backward");
    }

    LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits) {
        throw missing("softmax cross-entropy");
    }

    void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed) {
        throw missing("dropout");
    }

    void dropoutBackward(Tensor dy, Tensor mask, Tensor dx, boolean accumulate) {
        throw missing("dropout backward");
    }

    void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd) {
        throw missing("SGD");
    }

    @Override
    public void close() {
    }
}
