package org.jbtrfs.junit;

import org.jbtrfs.fs.internal.PlantedAccessor;

/** Planted violation of rule (d): the junit module using the tools' internal accessor. */
final class PlantedAccessorUse {
    static Object reach(Object fs) { return PlantedAccessor.internals(fs); }
}
