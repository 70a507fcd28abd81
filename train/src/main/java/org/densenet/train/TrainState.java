package org.densenet.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a run stands, as saved in a checkpoint. The next step to run is batch {@code batch} of
 * epoch {@code epoch} (both 0-based; {@code batch} may equal the batches per epoch, meaning the
 * epoch's training is done and its evaluation is next). The partial sums of the current epoch's
 * training metrics, its time and its time spent waiting for batches are kept so that an
 * interrupted epoch reports the same figures as an uninterrupted one. Random state needs no more
 * than this: sample order, augmentation and dropout masks are counter-based functions of the
 * seed, the epoch, the sample and the step. {@code worldSize} is the number of data-parallel
 * ranks that trained it: {@code batch} counts steps of that many per-rank batches.
 */
public record TrainState(int epoch, int batch, long globalStep, double bestTop1, int bestEpoch,
                         double trainLossSum, long trainTop1, long trainSeen, double trainSeconds, double dataWaitSeconds, int worldSize) {
    public static final TrainState START = new TrainState(0, 0, 0, -1, 0, 0, 0, 0, 0, 0);

    public TrainState {
        if (epoch < 0 || batch < 0 || globalStep < 0 || trainSeen < 0 || worldSize < 1) {
            throw new IllegalArgumentException("invalid training state: epoch " + epoch + ", batch " + batch + ", step " + globalStep
                    + ", " + worldSize + " ranks");
        }
    }

    /** The state of a run on one device. */
    public TrainState(int epoch, int batch, long globalStep, double bestTop1, int bestEpoch,
                      double trainLossSum, long trainTop1, long trainSeen, double trainSeconds, double dataWaitSeconds) {
        this(epoch, batch, globalStep, bestTop1, bestEpoch, trainLossSum, trainTop1, trainSeen, trainSeconds, dataWaitSeconds, 1);
    }

    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("state.epoch", Integer.toString(epoch));
        m.put("state.batch", Integer.toString(batch));
        m.put("state.global_step", Long.toString(globalStep));
        m.put("state.best_top1", Double.toString(bestTop1));
        m.put("state.best_epoch", Integer.toString(bestEpoch));
        m.put("state.train_loss_sum", Double.toString(trainLossSum));
        m.put("state.train_top1", Long.toString(trainTop1));
        m.put("state.train_seen", Long.toString(trainSeen));
        m.put("state.train_seconds", Double.toString(trainSeconds));
        m.put("state.data_wait_seconds", Double.toString(dataWaitSeconds));
        m.put("state.world_size", Integer.toString(worldSize));
        return m;
    }

    public static TrainState fromMap(Map<String, String> m) {
        TrainConfig.Fields f = new TrainConfig.Fields(m);
        return new TrainState(f.integer("state.epoch"), f.integer("state.batch"), f.longValue("state.global_step"),
                f.real("state.best_top1"), f.integer("state.best_epoch"), f.real("state.train_loss_sum"),
                f.longValue("state.train_top1"), f.longValue("state.train_seen"), f.real("state.train_seconds"),
                m.containsKey("state.data_wait_seconds") ? f.real("state.data_wait_seconds") : 0,  // absent before it was recorded
                m.containsKey("state.world_size") ? f.integer("state.world_size") : 1);
    }
}
