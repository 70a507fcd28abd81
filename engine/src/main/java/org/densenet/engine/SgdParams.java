package org.densenet.engine;

/**
 * One SGD update, as torch.optim.SGD with dampening 0:
 * g += wd * p; buf = momentum * buf + g (buf starts at 0); g = nesterov ? g + momentum * buf : buf; p -= lr * g.
 */
public record SgdParams(double lr, double momentum, double weightDecay, boolean nesterov) {
    public SgdParams {
        if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("learning rate must be a finite number >= 0, got " + lr);
        if (!(momentum >= 0 && momentum < 1)) throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
        if (nesterov && momentum == 0) throw new IllegalArgumentException("Nesterov momentum needs momentum > 0");
    }
}
