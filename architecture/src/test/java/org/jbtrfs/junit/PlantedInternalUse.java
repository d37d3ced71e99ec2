package org.jbtrfs.junit;

import org.jbtrfs.transaction.FsInfo;

/** Planted violation of rule (c): the junit module naming an internal type (FsInfo). */
final class PlantedInternalUse {
    static boolean mounted(FsInfo info) { return info != null; }
}
