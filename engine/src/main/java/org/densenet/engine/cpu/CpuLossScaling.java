package org.densenet.engine.cpu;

import static org.densenet.engine.cpu.Checks.contiguous;
import static org.densenet.engine.cpu.Checks.fail;
import static org.densenet.engine.cpu.Checks.floating;
import static org.densenet.engine.cpu.CpuBackend.f32;
import static org.densenet.engine.cpu.CpuBackend.f64;

import java.util.concurrent.atomic.AtomicBoolean;
import org.densenet.engine.DType;
import org.densenet.engine.LossScaling;
import org.densenet.engine.SgdParams;
import org.densenet.engine.Tensor;

/**
 * The CPU's dynamic loss scaling ({@link LossScaling}): the same three steps as the GPU's
 * loss_scale.cu and sgd.cu, on the scaler's state in a float32 tensor of this backend, with the
 * same float32 arithmetic, so that a CPU run's scale, skips and weights are the GPU's.
 */
final class CpuLossScaling {
    private final CpuBackend b;

    CpuLossScaling(CpuBackend backend) {
        this.b = backend;
    }

    private float[] state(String op, Tensor scaler) {
        b.own(op, scaler);
        LossScaling.checkState(op, scaler);
        float[] s = new float[LossScaling.STATE_SIZE];
        b.download(scaler, s);
        return s;
    }

    void scaleLossGradient(Tensor dlogits, Tensor scaler) {
        String op = "scaleLossGradient";
        b.own(op, dlogits);
        floating(op, dlogits);
        contiguous(op, "dlogits", dlogits);
        float scale = state(op, scaler)[LossScaling.SCALE];
        b.forRuns(dlogits, (r, s, len) -> {
            int o = CpuBackend.runOffset(dlogits, r) + s;
            if (dlogits.dtype() == DType.F32) ElementwiseF32.scale(f32(dlogits), o, len, scale);
            else ElementwiseF64.scale(f64(dlogits), o, len, scale);
        });
    }

    void checkGradientsAndUpdateScale(Tensor grads, Tensor scaler, LossScaling rule) {
        String op = "checkGradientsAndUpdateScale";
        b.own(op, grads);
        floating(op, grads);
        if (grads.rank() != 1) throw fail(op, "grads must be the flat 1-D gradient buffer, got " + grads);
        contiguous(op, "grads", grads);
        float[] s = state(op, scaler);
        AtomicBoolean found = new AtomicBoolean();
        b.forRuns(grads, (r, start, len) -> {
            int o = CpuBackend.runOffset(grads, r) + start;
            boolean ok = grads.dtype() == DType.F32 ? ElementwiseF32.finite(f32(grads), o, len) : ElementwiseF64.finite(f64(grads), o, len);
            if (!ok) found.set(true);
        });
        rule.update(s, 0, found.get());
        b.upload(s, scaler);
    }

    void sgdStep(Tensor params, Tensor grads, Tensor momentumBuffer, SgdParams sgd, Tensor lr, Tensor scaler) {
        String op = "sgdStep";
        if (lr == null || lr.numel() != 1 || lr.dtype() != DType.F32) throw fail(op, "lr must be a float32 [1], got " + lr);
        float[] rate = new float[1];
        b.download(lr, rate);
        SgdParams at = new SgdParams(rate[0], sgd.momentum(), sgd.weightDecay(), sgd.nesterov());
        if (scaler == null) {
            b.sgdStep(params, grads, momentumBuffer, at, 1);
            return;
        }
        float[] s = state(op, scaler);
        if (s[LossScaling.FOUND] != 0) return; // an inf or NaN gradient: the step is skipped, as the GPU's kernel skips it
        b.sgdStep(params, grads, momentumBuffer, at, s[LossScaling.UNSCALE]);
    }
}
