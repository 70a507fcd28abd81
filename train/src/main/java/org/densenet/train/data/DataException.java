package org.densenet.train.data;

import java.nio.file.Path;

/**
 * Input data that cannot be used: a file that is missing, truncated or malformed, or a label out
 * of range. The message names the file and says what is wrong, so the command line can print it as is.
 */
public class DataException extends RuntimeException {
    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }

    public static DataException at(Path file, String problem) {
        return new DataException(file + ": " + problem);
    }
}
