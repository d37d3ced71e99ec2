package org.jbtrfs.core.kernel;

import org.jbtrfs.core.Faults;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hooks;
import org.jbtrfs.core.KernelClock;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.SlabLeak;
import org.jbtrfs.core.Taint;
import java.util.List;

/**
 * The kernel-side context of one loaded module: its config, clock, log, slab caches, hooks, faults,
 * crc32c driver and kthreadd. Every subsystem of a mounted filesystem reaches these through here, so
 * two modules loaded in one JVM share nothing.
 */
public final class Kernel implements AutoCloseable {
    private final KernelConfig config;
    private final KernelLog log;
    private final Slabs slabs;
    private final Sched sched = new Sched();
    private final Hooks hooks = new Hooks(sched);
    private final Faults faults = new Faults();
    private final Kthreadd kthreadd;
    private final Crc32c crc32c;
    private final Lockdep lockdep;
    private final String name;
    private volatile boolean shutDown;
    /** The module's global state, one object per kind ({@link #global}). */
    private final java.util.Map<Class<?>, Object> globals = new java.util.concurrent.ConcurrentHashMap<>();

    public Kernel(String name, KernelConfig config) {
        this.name = name;
        this.config = config;
        this.log = new KernelLog(config.logCapacity(), config.clock(), config.assertions());
        this.slabs = new Slabs(log, config.clock(), config.slabDebug());
        this.kthreadd = new Kthreadd(config.clock(), log, sched, config.latency().wakeupNanos());
        this.crc32c = Crc32c.of(config.crc32c());
        this.lockdep = config.lockdep() ? new Lockdep(true, log) : Lockdep.OFF;
    }

    public String name() { return name; }

    /**
     * The module's global state of one kind — what a subsystem keeps in static variables for as long as the module is
     * loaded (volumes.c's list of scanned filesystems and their devices): created by {@code create} on first use.
     */
    public <T> T global(Class<T> kind, java.util.function.Supplier<T> create) {
        return kind.cast(globals.computeIfAbsent(kind, k -> create.get()));
    }

    public KernelConfig config() { return config; }

    public KernelClock clock() { return config.clock(); }

    public KernelLog log() { return log; }

    public Slabs slabs() { return slabs; }

    public Hooks hooks() { return hooks; }

    public Faults faults() { return faults; }

    public Kthreadd kthreadd() { return kthreadd; }

    public Crc32c crc32c() { return crc32c; }

    /** This module's lockdep ({@link Lockdep#OFF} unless {@link KernelConfig#lockdep()}). */
    public Lockdep lockdep() { return lockdep; }

    public boolean applied(FixSwitch f) { return config.applied(f); }

    /** How this module's threads sleep, and whether it panicked. */
    public Sched sched() { return sched; }

    /**
     * kernel: panic() — "Kernel panic - not syncing: {@code why}". Every uninterruptible sleep of this
     * module ends with {@link KernelPanic} (see {@link Sched}); nothing of it is kernel behaviour any
     * more, and the module can only be unloaded. For a hung module (a deadlock the port reproduces), as
     * a hung machine is rebooted. Idempotent: the first reason is kept.
     */
    public void panic(String why) {
        if (sched.panic(why)) {
            log.taint(Taint.DIE);
            log.log(LogLevel.EMERG, LogEntry.Kind.PANIC, "Kernel panic - not syncing: " + why);
            sched.interruptSleepers();
        }
    }

    public boolean panicked() { return sched.panicked(); }

    /** Module unload, core part: release hooks, destroy slab caches (leak report), end kthreadd. */
    public List<SlabLeak> shutdown() {
        shutDown = true;
        hooks.reset();
        faults.reset();
        List<SlabLeak> leaks = slabs.destroyAll();
        kthreadd.shutdown(5_000);
        return leaks;
    }

    /**
     * {@link #shutdown()} unless it already ran (its leak report is then the caller's to read): a kernel used in a
     * try-with-resources is unloaded however the block ends.
     */
    @Override
    public void close() {
        if (!shutDown) {
            shutdown();
        }
    }
}
