package org.jbtrfs.stress;

/**
 * Bugs of the port (not of the kernel) that the stress runner found and now steps around, so that a
 * run with every fix applied stays meaningful. Each is described where it is avoided and in
 * BENCHMARKS-stress.md. Run with {@code -Djbtrfs.stress.knownBugs=expose} to drive into them anyway.
 */
final class KnownPortBugs {
    /** True unless the system property asks to expose them. */
    static final boolean AVOID = !"expose".equals(System.getProperty("jbtrfs.stress.knownBugs"));

    private KnownPortBugs() { }
}
