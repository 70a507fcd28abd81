package org.densenet.engine.profile;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.densenet.engine.Backend;
import org.densenet.engine.Conv2d;
import org.densenet.engine.DType;
import org.densenet.engine.ImageNormalization;
import org.densenet.engine.LossResult;
import org.densenet.engine.LossScaling;
import org.densenet.engine.MemoryStats;
import org.densenet.engine.OpTimer;
import org.densenet.engine.Pool2d;
import org.densenet.engine.Precision;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;

/**
 * A {@link Backend} that forwards every call to another and, while recording, times each op with
 * the inner backend's {@link Backend#newTimer() timer} and notes its name, {@link OpScope scope},
 * shapes and {@link OpCosts cost}. Results pass through unchanged. Timers are reused from one
 * {@link #collect()} to the next, so a repeated step creates no new device events. With
 * {@link #setIssueTiming issue timing} on, each op is timed instead by the host's clock around
 * the call, the queue drained first ({@link OpTimer#issue}): what issuing the op costs the host.
 */
public final class ProfilingBackend implements Backend {
    private record Pending(String op, String scope, Tensor[] operands, OpCost cost, OpTimer timer, int kernels) {
    }

    private final Backend inner;
    private final List<OpTimer> timers = new ArrayList<>();
    private final List<Pending> pending = new ArrayList<>();
    private final List<OpTimer> issueTimers = new ArrayList<>();
    private boolean recording;
    private boolean issueTiming;
    /** The inner backend's kernel launches when the op being timed began. */
    private long launchesAtBegin;

    public ProfilingBackend(Backend inner) {
        if (inner == null) throw new IllegalArgumentException("the profiled backend must not be null");
        this.inner = inner;
    }

    public Backend inner() {
        return inner;
    }

    /** Starts or stops recording; calls made while not recording are forwarded untimed. */
    public void setRecording(boolean on) {
        recording = on;
    }

    public boolean isRecording() {
        return recording;
    }

    /** Times each recorded op by its host issue time instead of its device time; switch only with nothing pending. */
    public void setIssueTiming(boolean on) {
        if (!pending.isEmpty()) throw new IllegalStateException("collect() the " + pending.size() + " pending samples before switching the timing");
        issueTiming = on;
    }

    /** Waits for the queued ops, returns the samples recorded since the last collect, in call order, and clears them. */
    public List<OpSample> collect() {
        inner.synchronize();
        List<OpSample> out = new ArrayList<>(pending.size());
        for (Pending p : pending) {
            out.add(new OpSample(p.op, p.scope, shapes(p.operands), p.cost, p.timer.elapsedNanos(), p.kernels));
        }
        pending.clear();
        return out;
    }

    private OpTimer begin() {
        if (!recording) return null;
        List<OpTimer> pool = issueTiming ? issueTimers : timers;
        OpTimer t;
        if (pending.size() < pool.size()) {
            t = pool.get(pending.size());
        } else {
            t = issueTiming ? OpTimer.issue(inner) : inner.newTimer();
            pool.add(t);
        }
        launchesAtBegin = inner.kernelLaunches();
        t.start();
        return t;
    }

    /** Called only after a timed call (t != null), so an untimed call computes no cost and copies no shapes. */
    private void end(OpTimer t, String op, OpCost cost, Tensor... operands) {
        t.stop();
        pending.add(new Pending(op, OpScope.current(), operands, cost, t, Math.toIntExact(inner.kernelLaunches() - launchesAtBegin)));
    }

    private static String shapes(Tensor[] operands) {
        StringBuilder sb = new StringBuilder();
        for (Tensor t : operands) {
            if (t == null) continue;
            if (!sb.isEmpty()) sb.append(' ');
            sb.append(Arrays.toString(t.shape()).replace(" ", ""));
        }
        return sb.toString();
    }

    private static int eb(Tensor t) {
        return t.dtype().bytes();
    }

    // ---- forwarded untimed -------------------------------------------------------------

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Precision precision() {
        return inner.precision();
    }

    @Override
    public DType activationDType() {
        return inner.activationDType();
    }

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        return inner.allocate(dtype, shape);
    }

    @Override
    public MemoryStats memoryStats() {
        return inner.memoryStats();
    }

    @Override
    public void resetPeakMemory() {
        inner.resetPeakMemory();
    }

    @Override
    public long availableMemoryBytes() {
        return inner.availableMemoryBytes();
    }

    @Override
    public String memoryLimitNote() {
        return inner.memoryLimitNote();
    }

    @Override
    public void synchronize() {
        inner.synchronize();
    }

    @Override
    public OpTimer newTimer() {
        return inner.newTimer();
    }

    @Override
    public long waitedNanos() {
        return inner.waitedNanos();
    }

    @Override
    public long kernelLaunches() {
        return inner.kernelLaunches();
    }

    @Override
    public Map<String, String> versions() {
        return inner.versions();
    }

    @Override
    public void close() {
        for (OpTimer t : timers) t.close();
        timers.clear();
        pending.clear();
        inner.close();
    }

    // ---- transfers ----------------------------------------------------------------------

    @Override
    public void upload(float[] src, Tensor dst) {
        OpTimer t = begin();
        inner.upload(src, dst);
        if (t != null) end(t, "upload", OpCosts.transfer(dst.shape(), eb(dst)), dst);
    }

    @Override
    public void upload(double[] src, Tensor dst) {
        OpTimer t = begin();
        inner.upload(src, dst);
        if (t != null) end(t, "upload", OpCosts.transfer(dst.shape(), eb(dst)), dst);
    }

    @Override
    public void upload(int[] src, Tensor dst) {
        OpTimer t = begin();
        inner.upload(src, dst);
        if (t != null) end(t, "upload", OpCosts.transfer(dst.shape(), eb(dst)), dst);
    }

    @Override
    public void uploadImages(byte[] src, Tensor dst, ImageNormalization norm) {
        OpTimer t = begin();
        inner.uploadImages(src, dst, norm);
        if (t != null) end(t, "upload_images", OpCosts.imageUpload(dst.shape()), dst);
    }

    @Override
    public void download(Tensor src, float[] dst) {
        OpTimer t = begin();
        inner.download(src, dst);
        if (t != null) end(t, "download", OpCosts.transfer(src.shape(), eb(src)), src);
    }

    @Override
    public void download(Tensor src, double[] dst) {
        OpTimer t = begin();
        inner.download(src, dst);
        if (t != null) end(t, "download", OpCosts.transfer(src.shape(), eb(src)), src);
    }

    @Override
    public void download(Tensor src, int[] dst) {
        OpTimer t = begin();
        inner.download(src, dst);
        if (t != null) end(t, "download", OpCosts.transfer(src.shape(), eb(src)), src);
    }

    // ---- elementwise ----------------------------------------------------------------------

    @Override
    public void fill(Tensor dst, double value) {
        OpTimer t = begin();
        inner.fill(dst, value);
        if (t != null) end(t, "fill", OpCosts.fill(dst.shape(), eb(dst)), dst);
    }

    @Override
    public void copy(Tensor src, Tensor dst, boolean accumulate) {
        OpTimer t = begin();
        inner.copy(src, dst, accumulate);
        if (t != null) end(t, accumulate ? "copy_add" : "copy", OpCosts.copy(dst.shape(), accumulate, eb(dst)), src);
    }

    @Override
    public void relu(Tensor x, Tensor y) {
        OpTimer t = begin();
        inner.relu(x, y);
        if (t != null) end(t, "relu", OpCosts.relu(x.shape(), eb(x)), x);
    }

    @Override
    public void reluBackward(Tensor y, Tensor dy, Tensor dx, boolean accumulate) {
        OpTimer t = begin();
        inner.reluBackward(y, dy, dx, accumulate);
        if (t != null) end(t, "relu_bwd", OpCosts.reluBackward(y.shape(), accumulate, eb(y)), y);
    }

    // ---- convolution ----------------------------------------------------------------------

    @Override
    public void convForward(Tensor x, Tensor w, Tensor y, Conv2d conv, boolean accumulate) {
        OpTimer t = begin();
        inner.convForward(x, w, y, conv, accumulate);
        if (t != null) end(t, "conv_fwd", OpCosts.convForward(x.shape(), w.shape(), y.shape(), eb(x), accumulate), x, w, y);
    }

    @Override
    public void convBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2d conv, boolean accumulate) {
        OpTimer t = begin();
        inner.convBackwardData(dy, w, dx, conv, accumulate);
        if (t != null) end(t, "conv_bwd_data", OpCosts.convBackwardData(dy.shape(), w.shape(), dx.shape(), eb(dy), accumulate), dy, w, dx);
    }

    @Override
    public void convBackwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2d conv, boolean accumulate) {
        OpTimer t = begin();
        inner.convBackwardFilter(x, dy, dw, conv, accumulate);
        if (t != null) end(t, "conv_bwd_filter", OpCosts.convBackwardFilter(x.shape(), dy.shape(), dw.shape(), eb(x), accumulate), x, dy, dw);
    }

    // ---- batch norm -------------------------------------------------------------------------

    @Override
    public void batchNormStatistics(Tensor x, Tensor mean, Tensor var) {
        OpTimer t = begin();
        inner.batchNormStatistics(x, mean, var);
        if (t != null) end(t, "bn_stats", OpCosts.batchNormStatistics(x.shape(), eb(x)), x);
    }

    @Override
    public void batchNormUpdateRunning(Tensor mean, Tensor var, long count, double momentum, Tensor runningMean, Tensor runningVar) {
        OpTimer t = begin();
        inner.batchNormUpdateRunning(mean, var, count, momentum, runningMean, runningVar);
        if (t != null) end(t, "bn_running", OpCosts.batchNormUpdateRunning(mean.dim(0), eb(mean)), mean);
    }

    @Override
    public void batchNormApply(Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps, boolean relu, Tensor y) {
        OpTimer t = begin();
        inner.batchNormApply(x, mean, var, gamma, beta, eps, relu, y);
        if (t != null) end(t, relu ? "bn_relu_apply" : "bn_apply", OpCosts.batchNormApply(x.shape(), relu, eb(x)), x);
    }

    @Override
    public void batchNormApplyTraining(Tensor x, Tensor mean, Tensor var, boolean statsReady, Tensor gamma, Tensor beta, double eps,
                                       boolean relu, Tensor y, double momentum, Tensor runningMean, Tensor runningVar) {
        OpTimer t = begin();
        inner.batchNormApplyTraining(x, mean, var, statsReady, gamma, beta, eps, relu, y, momentum, runningMean, runningVar);
        if (t != null) {
            OpCost c = OpCosts.batchNormApply(x.shape(), relu, eb(x)).plus(OpCosts.batchNormUpdateRunning(mean.dim(0), eb(mean)));
            end(t, (statsReady ? "" : "bn_stats+") + (relu ? "bn_relu_train" : "bn_train"),
                    statsReady ? c : c.plus(OpCosts.batchNormStatistics(x.shape(), eb(x))), x);
        }
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor mean, Tensor var, Tensor gamma, Tensor beta, double eps,
                                  boolean relu, Tensor dx, boolean accumulateDx, Tensor dgamma, Tensor dbeta) {
        OpTimer t = begin();
        inner.batchNormBackward(x, dy, mean, var, gamma, beta, eps, relu, dx, accumulateDx, dgamma, dbeta);
        if (t != null) end(t, relu ? "bn_relu_bwd" : "bn_bwd", OpCosts.batchNormBackward(x.shape(), relu, accumulateDx, eb(x)), x);
    }

    // ---- pooling ----------------------------------------------------------------------------

    @Override
    public void avgPoolForward(Tensor x, Tensor y, Pool2d pool) {
        OpTimer t = begin();
        inner.avgPoolForward(x, y, pool);
        if (t != null) end(t, "avgpool_fwd", OpCosts.avgPoolForward(x.shape(), y.shape(), pool.kernel(), eb(x)), x, y);
    }

    @Override
    public void avgPoolBackward(Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        OpTimer t = begin();
        inner.avgPoolBackward(dy, dx, pool, accumulate);
        if (t != null) end(t, "avgpool_bwd", OpCosts.avgPoolBackward(dy.shape(), dx.shape(), pool.kernel(), accumulate, eb(dy)), dy, dx);
    }

    @Override
    public void maxPoolForward(Tensor x, Tensor y, Pool2d pool) {
        OpTimer t = begin();
        inner.maxPoolForward(x, y, pool);
        if (t != null) end(t, "maxpool_fwd", OpCosts.maxPoolForward(x.shape(), y.shape(), pool.kernel(), eb(x)), x, y);
    }

    @Override
    public void maxPoolBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, Pool2d pool, boolean accumulate) {
        OpTimer t = begin();
        inner.maxPoolBackward(x, y, dy, dx, pool, accumulate);
        if (t != null) end(t, "maxpool_bwd", OpCosts.maxPoolBackward(x.shape(), y.shape(), dx.shape(), pool.kernel(), accumulate, eb(x)), x, y);
    }

    @Override
    public void globalAvgPoolForward(Tensor x, Tensor y) {
        OpTimer t = begin();
        inner.globalAvgPoolForward(x, y);
        if (t != null) end(t, "gap_fwd", OpCosts.globalAvgPoolForward(x.shape(), eb(x)), x);
    }

    @Override
    public void globalAvgPoolBackward(Tensor dy, Tensor dx, boolean accumulate) {
        OpTimer t = begin();
        inner.globalAvgPoolBackward(dy, dx, accumulate);
        if (t != null) end(t, "gap_bwd", OpCosts.globalAvgPoolBackward(dx.shape(), accumulate, eb(dx)), dx);
    }

    // ---- linear, loss, dropout, optimiser ------------------------------------------------------

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor b, Tensor y) {
        OpTimer t = begin();
        inner.linearForward(x, w, b, y);
        if (t != null) end(t, "linear_fwd", OpCosts.linearForward(x.dim(0), x.dim(1), w.dim(0), eb(x)), x, w);
    }

    @Override
    public void linearBackward(Tensor x, Tensor w, Tensor dy, Tensor dx, Tensor dw, Tensor db) {
        OpTimer t = begin();
        inner.linearBackward(x, w, dy, dx, dw, db);
        if (t != null) end(t, "linear_bwd", OpCosts.linearBackward(x.dim(0), x.dim(1), w.dim(0), dx != null, eb(x)), x, w);
    }

    @Override
    public LossResult softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor dlogits) {
        OpTimer t = begin();
        LossResult r = inner.softmaxCrossEntropy(logits, labels, dlogits);
        if (t != null) end(t, "softmax_xent", OpCosts.softmaxCrossEntropy(logits.dim(0), logits.dim(1), dlogits != null, eb(logits)), logits);
        return r;
    }

    @Override
    public void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, long seed) {
        OpTimer t = begin();
        inner.dropoutForward(x, y, mask, p, seed);
        if (t != null) end(t, "dropout_fwd", OpCosts.dropoutForward(x.shape(), eb(x)), x);
    }

    @Override
    public void dropoutForward(Tensor x, Tensor y, Tensor mask, double p, Tensor seed) {
        OpTimer t = begin();
        inner.dropoutForward(x, y, mask, p, seed);
        if (t != null) end(t, "dropout_fwd", OpCosts.dropoutForward(x.shape(), eb(x)), x);
    }

    @Override
    public void dropoutBackward(Tensor dy, Tensor mask, Tensor dx, boolean accumulate) {
        OpTimer t = begin();
        inner.dropoutBackward(dy, mask, dx, accumulate);
        if (t != null) end(t, "dropout_bwd", OpCosts.dropoutBackward(dy.shape(), accumulate, eb(dy)), dy);
    }

    @Override
    public void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd) {
        OpTimer t = begin();
        inner.sgdStep(params, grads, momentumBuffer, sgd);
        if (t != null) end(t, "sgd", OpCosts.sgdStep(params.numel(), sgd.weightDecay(), sgd.momentum(), sgd.nesterov(), eb(params)), params);
    }

    /** Passed on as it is, so the rate is read on the device, not read back (which would wait for the device every step). */
    @Override
    public void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd, Tensor lr) {
        OpTimer t = begin();
        inner.sgdStep(params, grads, momentumBuffer, sgd, lr);
        if (t != null) end(t, "sgd", OpCosts.sgdStep(params.numel(), sgd.weightDecay(), sgd.momentum(), sgd.nesterov(), eb(params)), params);
    }

    /** The unscaling multiply is counted; a skipped step is timed as what it costs, its cost as if it ran. */
    @Override
    public void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd, Tensor lr, Tensor scaler) {
        OpTimer t = begin();
        inner.sgdStep(params, grads, momentumBuffer, sgd, lr, scaler);
        if (t != null) {
            OpCost c = OpCosts.sgdStep(params.numel(), sgd.weightDecay(), sgd.momentum(), sgd.nesterov(), eb(params));
            end(t, "sgd", scaler == null ? c : c.plus(new OpCost(params.numel(), 0)), params);
        }
    }

    @Override
    public void scaleLossGradient(Tensor dlogits, Tensor scaler) {
        OpTimer t = begin();
        inner.scaleLossGradient(dlogits, scaler);
        if (t != null) end(t, "loss_scale", OpCosts.lossScale(dlogits.numel(), eb(dlogits)), dlogits);
    }

    @Override
    public void checkGradientsAndUpdateScale(Tensor grads, Tensor scaler, LossScaling rule) {
        OpTimer t = begin();
        inner.checkGradientsAndUpdateScale(grads, scaler, rule);
        if (t != null) end(t, "grad_check", OpCosts.gradientCheck(grads.numel(), eb(grads)), grads);
    }
}
