package org.densenet.engine.cuda;

import org.densenet.engine.Backend;
import org.densenet.engine.cuda.ffm.CudaLibraries;

/** The CUDA backend. */
public final class CudaBackend {
    private CudaBackend() {
    }

    public static Backend open(CudaLibraries.Driver driver, CudaLibraries.Toolkit toolkit, int ordinal) {
        throw new CudaUnavailableException("the CUDA backend is not in this build yet (" + driver.devices().get(ordinal).describe()
                + " and " + toolkit.describe() + " were found)");
    }
}
