package org.densenet.train.data;

/** ImageNet evaluation: resize the shorter side to {@code resize}, take the centre {@code crop} square (the normalisation follows on the device). */
public record ResizeCenterCrop(int resize, int crop, Normalization norm) implements CropTransform {
    public ResizeCenterCrop {
        if (crop < 1 || resize < crop) throw new IllegalArgumentException("need 1 <= crop <= resize, got crop " + crop + ", resize " + resize);
        norm = norm.forChannels(3);
    }

    @Override
    public int channels() {
        return 3;
    }

    @Override
    public int height() {
        return crop;
    }

    @Override
    public int width() {
        return crop;
    }

    @Override
    public Normalization normalization() {
        return norm;
    }

    @Override
    public Box box(int W, int H, long key) {
        // Size of the resized image as torchvision computes it; the whole image is resized, then cropped.
        int rw = W <= H ? resize : (int) ((long) resize * W / H);
        int rh = W <= H ? (int) ((long) resize * H / W) : resize;
        // torchvision's CenterCrop uses Python's round(), which takes halves to the even neighbour: Math.rint, not Math.round.
        int top = (int) Math.rint((rh - crop) / 2.0), left = (int) Math.rint((rw - crop) / 2.0);
        return new Box(0, 0, W, H, rw, rh, left, top, false);
    }
}
