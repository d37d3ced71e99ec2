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
    private final EnumSet<FixSwitch> applied;
    private final Crc32cImpl crc32c;
    private final boolean assertions;
    private final KernelClock clock;
    private final boolean slabDebug;
    private final int workerThreads;
    private final int logCapacity;

    private KernelConfig(EnumSet<FixSwitch> applied, Crc32cImpl crc32c, boolean assertions, KernelClock clock,
                         boolean slabDebug, int workerThreads, int logCapacity) {
        this.applied = applied;
        this.crc32c = crc32c;
        this.assertions = assertions;
        this.clock = clock;
        this.slabDebug = slabDebug;
        this.workerThreads = workerThreads;
        this.logCapacity = logCapacity;
    }

    public static KernelConfig defaults() {
        return new KernelConfig(EnumSet.allOf(FixSwitch.class), Crc32cImpl.ACCELERATED, true, KernelClock.SYSTEM,
            false, 4, 4096);
    }

    public boolean applied(FixSwitch f) { return applied.contains(f); }

    public boolean reverted(FixSwitch f) { return !applied.contains(f); }

    public Set<FixSwitch> appliedFixes() { return EnumSet.copyOf(applied); }

    public Set<FixSwitch> revertedFixes() { return EnumSet.complementOf(applied); }

    public Crc32cImpl crc32c() { return crc32c; }

    public boolean assertions() { return assertions; }

    public KernelClock clock() { return clock; }

    public boolean slabDebug() { return slabDebug; }

    /** Real threads in the module's kworker pool. */
    public int workerThreads() { return workerThreads; }

    public int logCapacity() { return logCapacity; }

    /** A copy with {@code fixes} reverted (the kernel code before those patches). */
    public KernelConfig revert(FixSwitch... fixes) { return revert(java.util.List.of(fixes)); }

    public KernelConfig revert(Collection<FixSwitch> fixes) {
        EnumSet<FixSwitch> a = EnumSet.copyOf(applied);
        a.removeAll(fixes);
        return new KernelConfig(a, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity);
    }

    /** A copy with exactly {@code fixes} applied. */
    public KernelConfig withApplied(Collection<FixSwitch> fixes) {
        EnumSet<FixSwitch> a = fixes.isEmpty() ? EnumSet.noneOf(FixSwitch.class) : EnumSet.copyOf(fixes);
        return new KernelConfig(a, crc32c, assertions, clock, slabDebug, workerThreads, logCapacity);
    }

    public KernelConfig crc32c(Crc32cImpl impl) {
        return new KernelConfig(applied, impl, assertions, clock, slabDebug, workerThreads, logCapacity);
    }

    /** CONFIG_BTRFS_ASSERT on or off. */
    public KernelConfig assertions(boolean on) {
        return new KernelConfig(applied, crc32c, on, clock, slabDebug, workerThreads, logCapacity);
    }

    public KernelConfig clock(KernelClock c) {
        return new KernelConfig(applied, crc32c, assertions, c, slabDebug, workerThreads, logCapacity);
    }

    /** slub_debug=U: record an allocation site per slab object (costs a stack walk per allocation). */
    public KernelConfig slabDebug(boolean on) {
        return new KernelConfig(applied, crc32c, assertions, clock, on, workerThreads, logCapacity);
    }

    public KernelConfig workerThreads(int n) {
        if (n < 1 || n > 64) {
            throw new IllegalArgumentException("worker threads must be 1..64: " + n);
        }
        return new KernelConfig(applied, crc32c, assertions, clock, slabDebug, n, logCapacity);
    }

    public KernelConfig logCapacity(int n) {
        if (n < 16) {
            throw new IllegalArgumentException("log capacity must be at least 16: " + n);
        }
        return new KernelConfig(applied, crc32c, assertions, clock, slabDebug, workerThreads, n);
    }

    @Override
    public String toString() {
        return "KernelConfig{reverted=" + revertedFixes() + ", crc32c=" + crc32c + ", assertions=" + assertions
            + ", clock=" + clock + ", slabDebug=" + slabDebug + "}";
    }
}
