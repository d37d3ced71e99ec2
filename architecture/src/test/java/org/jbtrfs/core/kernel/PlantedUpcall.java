package org.jbtrfs.core.kernel;

import org.jbtrfs.fs.BtrfsModule;

/** Planted violation of rule (d): core reaching up into fs. */
final class PlantedUpcall {
    static boolean loaded(BtrfsModule m) { return m.isLoaded(); }
}
