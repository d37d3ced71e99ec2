package org.jbtrfs.junit;

import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.internal.Internals;

/** Planted violation of rule (d): the junit module using the tools' internal accessor. */
final class PlantedAccessorUse {
    static Object reach(BtrfsModule module) { return Internals.kernel(module); }
}
