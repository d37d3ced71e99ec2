package org.jbtrfs.core;

import java.util.Collection;
import java.util.EnumSet;
import java.util.Set;

/**
 * What a loaded module is built with: which fixes are applied, which crc32c driver the machine has,
 * whether CONFIG_BTRFS_ASSERT is on, the clock, slab debug. Immutable; {@link #defaults()} has every
 * fix applied, accelerated crc32c, assertions on, the system clock and no slab debug.
 */
public final class KernelConfig {
    private final KernelVersion version;
    private final EnumSet<FixSwitch> applied;
    private final Crc32cImpl crc32c;
    private final boolean assertions;
    private final KernelClock clock;
    private final boolean slabDebug;
    private final int workerThreads;
    private final int logCapacity;
    private final LatencyModel latency;
    private final int discardTimeDivisor;
    private final long softLockupNanos;
    private final boolean lockdep;

    private KernelConfig(KernelVersion version, EnumSet<FixSwitch> applied, Crc32cImpl crc32c, boolean assertions,
                         KernelClock clock, boolean slabDebug, int workerThreads, int logCapacity, LatencyModel latency) {
        this(version, applied, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity, latency, 1, 20_000_000_000L, false);
    }

    private KernelConfig(KernelVersion version, EnumSet<FixSwitch> applied, Crc32cImpl crc32c, boolean assertions,
                         KernelClock clock, boolean slabDebug, int workerThreads, int logCapacity, LatencyModel latency,
                         int discardTimeDivisor, long softLockupNanos, boolean lockdep) {
        this.lockdep = lockdep;
        this.discardTimeDivisor = discardTimeDivisor;
        this.softLockupNanos = softLockupNanos;
        this.version = version;
        this.applied = applied;
        this.crc32c = crc32c;
        this.assertions = assertions;
        this.clock = clock;
        this.slabDebug = slabDebug;
        this.workerThreads = workerThreads;
        this.logCapacity = logCapacity;
        this.latency = latency;
    }

    /**
     * Every fix applied — the six of the seed and every later or proposed one — on the 5.12 code paths:
     * the kernel as it should be. Accelerated crc32c, assertions on, the system clock, no slab debug.
     */
    public static KernelConfig defaults() {
        return new KernelConfig(KernelVersion.V5_12, EnumSet.allOf(FixSwitch.class), Crc32cImpl.ACCELERATED, true,
            KernelClock.SYSTEM, false, 4, 4096, LatencyModel.NONE);
    }

    /** v5.10: none of the fixes, and 5.10's own code paths (see {@link KernelVersion#V5_10}). */
    public static KernelConfig v5_10() {
        return defaults().version(KernelVersion.V5_10).withApplied(EnumSet.noneOf(FixSwitch.class));
    }

    /** v5.11: patches 1–5 of the seed; not the March 2021 follow-up, nor anything later. */
    public static KernelConfig v5_11() {
        EnumSet<FixSwitch> a = EnumSet.copyOf(FixSwitch.seed());
        a.remove(FixSwitch.DEAD_ROOTS_BEFORE_ORPHAN_CLEANUP);
        return defaults().version(KernelVersion.V5_11).withApplied(a);
    }

    /** v5.12: the six fixes of the seed; nothing found later. */
    public static KernelConfig v5_12() {
        return defaults().version(KernelVersion.V5_12).withApplied(FixSwitch.seed());
    }

    /** The profile of {@code version} ({@link #v5_10()}, {@link #v5_11()}, {@link #v5_12()}). */
    public static KernelConfig profile(KernelVersion version) {
        if (version == null) {
            throw new IllegalArgumentException("version must not be null");
        }
        return switch (version) {
            case V5_10 -> v5_10();
            case V5_11 -> v5_11();
            case V5_12 -> v5_12();
        };
    }

    public KernelVersion version() { return version; }

    /** A copy on {@code v}'s code paths; the switches are unchanged. */
    public KernelConfig version(KernelVersion v) {
        if (v == null) {
            throw new IllegalArgumentException("version must not be null");
        }
        return new KernelConfig(v, applied, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    public boolean applied(FixSwitch f) {
        if (f == null) {
            throw new IllegalArgumentException("fix switch must not be null");
        }
        return applied.contains(f);
    }

    public boolean reverted(FixSwitch f) { return !applied(f); }

    public Set<FixSwitch> appliedFixes() { return applied.isEmpty() ? EnumSet.noneOf(FixSwitch.class) : EnumSet.copyOf(applied); }

    public Set<FixSwitch> revertedFixes() { return EnumSet.complementOf(applied); }

    public Crc32cImpl crc32c() { return crc32c; }

    public boolean assertions() { return assertions; }

    public KernelClock clock() { return clock; }

    public boolean slabDebug() { return slabDebug; }

    /** Real threads in the module's kworker pool. */
    public int workerThreads() { return workerThreads; }

    public int logCapacity() { return logCapacity; }

    /** The modelled device and wake-up costs; {@link LatencyModel#NONE} unless set. */
    public LatencyModel latency() { return latency; }

    /**
     * A copy with {@code model}'s costs: devices made by the module pay its read / write / flush
     * latencies, the kworker pool its wake-up latency. Off by default (unit tests); on in the stress runner
     * and the differential harness.
     */
    public KernelConfig latency(LatencyModel model) {
        if (model == null) {
            throw new IllegalArgumentException("latency model must not be null: LatencyModel.NONE for none");
        }
        return new KernelConfig(version, applied, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity, model,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    /** A copy with {@code fixes} reverted (the kernel code before those patches). */
    public KernelConfig revert(FixSwitch... fixes) { return revert(fixes == null ? null : java.util.Arrays.asList(fixes)); }

    public KernelConfig revert(Collection<FixSwitch> fixes) {
        requireSwitches(fixes, "fixes to revert");
        EnumSet<FixSwitch> a = applied.isEmpty() ? EnumSet.noneOf(FixSwitch.class) : EnumSet.copyOf(applied);
        a.removeAll(fixes);
        return new KernelConfig(version, a, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    /** A copy with exactly {@code fixes} applied. */
    public KernelConfig withApplied(Collection<FixSwitch> fixes) {
        requireSwitches(fixes, "fixes to apply");
        EnumSet<FixSwitch> a = fixes.isEmpty() ? EnumSet.noneOf(FixSwitch.class) : EnumSet.copyOf(fixes);
        return new KernelConfig(version, a, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    /** A copy with {@code fixes} applied (the kernel code after those patches). */
    public KernelConfig apply(FixSwitch... fixes) { return apply(fixes == null ? null : java.util.Arrays.asList(fixes)); }

    public KernelConfig apply(Collection<FixSwitch> fixes) {
        requireSwitches(fixes, "fixes to apply");
        EnumSet<FixSwitch> a = EnumSet.copyOf(applied.isEmpty() ? EnumSet.noneOf(FixSwitch.class) : applied);
        a.addAll(fixes);
        return new KernelConfig(version, a, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    private static void requireSwitches(Collection<FixSwitch> fixes, String what) {
        if (fixes == null || fixes.stream().anyMatch(java.util.Objects::isNull)) {
            throw new IllegalArgumentException(what + " must not be null or contain null");
        }
    }

    public KernelConfig crc32c(Crc32cImpl impl) {
        if (impl == null) {
            throw new IllegalArgumentException("crc32c must not be null: ACCELERATED or GENERIC");
        }
        return new KernelConfig(version, applied, impl, assertions, clock, slabDebug, workerThreads, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    /** CONFIG_BTRFS_ASSERT on or off. */
    public KernelConfig assertions(boolean on) {
        return new KernelConfig(version, applied, crc32c, on, clock, slabDebug, workerThreads, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    public KernelConfig clock(KernelClock c) {
        if (c == null) {
            throw new IllegalArgumentException("clock must not be null: KernelClock.SYSTEM or a ManualClock");
        }
        return new KernelConfig(version, applied, crc32c, assertions, c, slabDebug, workerThreads, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    /** slub_debug=U: record an allocation site per slab object (costs a stack walk per allocation). */
    public KernelConfig slabDebug(boolean on) {
        return new KernelConfig(version, applied, crc32c, assertions, clock, on, workerThreads, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    public KernelConfig workerThreads(int n) {
        if (n < 1 || n > 64) {
            throw new IllegalArgumentException("worker threads must be 1..64: " + n);
        }
        return new KernelConfig(version, applied, crc32c, assertions, clock, slabDebug, n, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    public KernelConfig logCapacity(int n) {
        if (n < 16) {
            throw new IllegalArgumentException("log capacity must be at least 16: " + n);
        }
        return new KernelConfig(version, applied, crc32c, assertions, clock, slabDebug, workerThreads, n, latency,
            discardTimeDivisor, softLockupNanos, lockdep);
    }

    /**
     * Port only: async discard's delays (discard.c's BTRFS_DISCARD_DELAY 120 s, BTRFS_DISCARD_UNUSED_DELAY 10 s, and the
     * base delay between two discards) divided by this (1: the kernel's). The kernel has no knob for the first two; the
     * stress runner compresses them as commit=N compresses the commit interval, so that a freed block group reaches the
     * discard worker within a cycle — the order of events is the kernel's, only the waits are shorter.
     */
    public int discardTimeDivisor() { return discardTimeDivisor; }

    /** A copy whose async discard delays are the kernel's divided by {@code divisor} (1..1,000,000). */
    public KernelConfig discardTimeDivisor(int divisor) {
        if (divisor < 1 || divisor > 1_000_000) {
            throw new IllegalArgumentException("discard time divisor must be 1..1000000: " + divisor);
        }
        return new KernelConfig(version, applied, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity, latency, divisor,
            softLockupNanos, lockdep);
    }

    /**
     * How long a CPU may spin without scheduling before the soft-lockup watchdog reports it ("watchdog: BUG: soft lockup"):
     * the kernel's 2 × watchdog_thresh, 20 s by default.
     */
    public long softLockupNanos() { return softLockupNanos; }

    /** A copy whose soft-lockup watchdog fires after {@code nanos} (positive). */
    public KernelConfig softLockupNanos(long nanos) {
        if (nanos <= 0) {
            throw new IllegalArgumentException("soft lockup threshold must be positive: " + nanos);
        }
        return new KernelConfig(version, applied, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity, latency,
            discardTimeDivisor, nanos, lockdep);
    }

    /**
     * CONFIG_PROVE_LOCKING: the module's lockdep ({@link org.jbtrfs.core.kernel.Lockdep}) checks every kernel mutex,
     * rwsem, freeze level and workqueue flush for a circular dependency. Off by default (a debug kernel's cost).
     */
    public boolean lockdep() { return lockdep; }

    /** A copy with lockdep on or off. */
    public KernelConfig lockdep(boolean on) {
        return new KernelConfig(version, applied, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity, latency,
            discardTimeDivisor, softLockupNanos, on);
    }

    @Override
    public String toString() {
        return "KernelConfig{version=" + version.label() + ", reverted=" + revertedFixes() + ", crc32c=" + crc32c + ", assertions=" + assertions
            + ", clock=" + clock + ", slabDebug=" + slabDebug + (lockdep ? ", lockdep" : "") + ", latency=" + latency + "}";
    }
}
