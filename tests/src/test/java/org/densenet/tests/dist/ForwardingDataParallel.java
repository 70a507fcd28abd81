package org.densenet.tests.dist;

import org.densenet.engine.Tensor;
import org.densenet.model.Parameters;
import org.densenet.train.DataParallel;

/** A rank's collectives passed on to {@code inner}: the data-parallel tests override what they watch or change. */
class ForwardingDataParallel implements DataParallel {
    final DataParallel inner;

    ForwardingDataParallel(DataParallel inner) {
        this.inner = inner;
    }

    @Override
    public int rank() {
        return inner.rank();
    }

    @Override
    public int size() {
        return inner.size();
    }

    @Override
    public void broadcast(Tensor t, String what) {
        inner.broadcast(t, what);
    }

    @Override
    public void gradientsReady(Parameters p, long from, long step) {
        inner.gradientsReady(p, from, step);
    }

    @Override
    public void averageGradients(Parameters p, long step) {
        inner.averageGradients(p, step);
    }

    @Override
    public boolean anyStop(boolean here, long step) {
        return inner.anyStop(here, step);
    }

    @Override
    public double[] sum(double[] values, String what) {
        return inner.sum(values, what);
    }

    @Override
    public void synchronizeBatchNorm(boolean on) {
        inner.synchronizeBatchNorm(on);
    }
}
