package org.jbtrfs.architecture;

import java.util.List;
import java.util.Set;

/**
 * The API boundary, written down once: which packages a user of jbtrfs may name, which packages are internal, and
 * which foreign libraries the API may mention. Every rule in {@link Rules} reads these lists; docs/api.md explains
 * them.
 */
final class Boundary {
    private Boundary() { }

    /** The API packages, exactly: a consumer's code names types of these packages and no other jbtrfs package. */
    static final List<String> API_PACKAGES = List.of(
        "org.jbtrfs.fs",
        "org.jbtrfs.fs.tools",
        "org.jbtrfs.core",
        "org.jbtrfs.junit");

    /** Internal packages (ArchUnit patterns): every other package of the build must match one of them. */
    static final List<String> INTERNAL_PACKAGES = List.of(
        "org.jbtrfs.core.kernel..",
        "org.jbtrfs.core.disk..",
        "org.jbtrfs.workqueue..",
        "org.jbtrfs.transaction..",
        "org.jbtrfs.qgroup..",
        "org.jbtrfs.cleaner..",
        "org.jbtrfs.fs.internal..",
        "org.jbtrfs.stress..",
        "org.jbtrfs.differential..",
        "org.jbtrfs.bench..");

    /** Foreign packages the API may mention and a consumer may use beside it: the JDK, logging, JUnit, Awaitility. */
    static final List<String> FOREIGN_ALLOWED = List.of(
        "java..",
        "org.slf4j..",
        "org.junit..",
        "org.opentest4j..",
        "org.awaitility..",
        "org.hamcrest..");

    /** The internal accessor package our tools (never a consumer) use to reach a mounted filesystem's internals. */
    static final String INTERNAL_ACCESSOR = "org.jbtrfs.fs.internal..";

    /** Who may use {@link #INTERNAL_ACCESSOR}: fs itself and the tools that need internals. */
    static final List<String> INTERNAL_ACCESSOR_USERS = List.of(
        "org.jbtrfs.fs..", "org.jbtrfs.stress..", "org.jbtrfs.bench..", "org.jbtrfs.differential..");

    /** The jar modules whose target/classes are the production code the rules read, bottom layer first. */
    static final List<String> MODULES = List.of(
        "core", "workqueue", "transaction", "qgroup", "cleaner", "fs", "junit", "stress", "differential", "bench");

    /** The modules whose tests the test rules read (every module with tests, test-support included). */
    static final List<String> MODULES_WITH_TESTS = List.of(
        "test-support", "core", "workqueue", "transaction", "qgroup", "cleaner", "fs", "junit", "stress", "differential",
        "bench");

    /** Where examples/ builds its consumer project (maven-invoker-plugin's clone) and compiles its tests. */
    static final String CONSUMER_TEST_CLASSES = "examples/target/it/junit-consumer/target/test-classes";

    /** The consumer's package (examples/junit-consumer) and the planted consumer's. */
    static final String CONSUMER_PACKAGES = "com.example..";

    /**
     * Public API members that still mention an internal type: a frozen list, so the API rule fails on any NEW leak
     * and on an entry that no longer occurs (delete it). Each entry: member's full name + " -> " + the internal type.
     * docs/api.md lists them with the reason each is still there.
     */
    static final Set<String> FROZEN_API_LEAKS = Set.of(
        // the kernel builds each module's Hooks with its scheduler (so a parked thread's wait is named); consumers
        // get Hooks from BtrfsModule.hooks() and never construct one
        "org.jbtrfs.core.Hooks.<init>(org.jbtrfs.core.kernel.Sched) -> org.jbtrfs.core.kernel.Sched",
        // btrfs inspect-internal dump-tree shows the on-disk format: its typed views are core.disk's item records
        "org.jbtrfs.fs.tools.DumpTree$Item.<init>(long, org.jbtrfs.core.disk.Key, long, int, int, int, java.lang.Object) -> org.jbtrfs.core.disk.Key",
        "org.jbtrfs.fs.tools.DumpTree$Item.key() -> org.jbtrfs.core.disk.Key",
        "org.jbtrfs.fs.tools.DumpTree.superBlock() -> org.jbtrfs.core.disk.SuperBlock");
}
