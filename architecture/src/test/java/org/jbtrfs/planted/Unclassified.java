package org.jbtrfs.planted;

/** Planted violation of rule (a): a package that is neither API nor a named internal package. */
public final class Unclassified {
}
