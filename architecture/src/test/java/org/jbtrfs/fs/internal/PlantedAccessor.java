package org.jbtrfs.fs.internal;

/** Stands for the internal accessor in the planted check of rule (d): only tools may call it. */
public final class PlantedAccessor {
    private PlantedAccessor() { }

    public static Object internals(Object fs) { return fs; }
}
