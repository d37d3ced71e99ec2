package org.jbtrfs.fs;

import java.util.List;
import org.jbtrfs.core.kernel.Kernel;
import org.jbtrfs.transaction.FsInfo;

/** Planted violation of rule (b): a public API class whose public members expose internal types. */
public final class PlantedApiLeak {
    public Kernel kernel() { return null; }

    public List<FsInfo> infos() { return List.of(); }
}
