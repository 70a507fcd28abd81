package org.densenet.train.data;

import java.util.Locale;

/**
 * How an image folder's files are decoded: which decoder, and whether a JPEG may be decoded at a
 * reduced size (DCT-domain scaling, 1/2, 1/4 or 1/8 of each side) when the transform's crop still
 * has at least its output's resolution there. {@code exact} decodes every image at full size, so
 * that crops are those of a full-resolution decode, as torchvision makes them.
 */
public record Decoding(Decoder decoder, boolean exact) {
    /** The decoder, then DCT scaling where the crop allows. */
    public static final Decoding DEFAULT = new Decoding(Decoder.AUTO, false);

    public enum Decoder {
        /** libjpeg-turbo when it loads, else javax.imageio, saying why. */
        AUTO,
        /** libjpeg-turbo through FFM; an error when it cannot be loaded. */
        TURBO,
        /** javax.imageio (the JDK's decoder): slower, no DCT scaling. */
        IMAGEIO;

        public static Decoder parse(String s) {
            return switch (s.strip().toLowerCase(Locale.ROOT)) {
                case "auto" -> AUTO;
                case "turbo", "libjpeg-turbo", "turbojpeg" -> TURBO;
                case "imageio" -> IMAGEIO;
                default -> throw new IllegalArgumentException("decoder must be auto, turbo or imageio, got '" + s + "'");
            };
        }

        public String cliName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public Decoding {
        if (decoder == null) throw new IllegalArgumentException("a decoding needs a decoder (auto, turbo or imageio)");
    }
}
