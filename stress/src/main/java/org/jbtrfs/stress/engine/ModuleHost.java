package org.jbtrfs.stress.engine;

import org.jbtrfs.core.Errno;

import org.jbtrfs.core.BtrfsException;

import org.jbtrfs.fs.internal.Internals;
import java.util.SplittableRandom;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.UnloadReport;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.report.RunStats;
import org.jbtrfs.stress.schedule.Perturbation;

/**
 * The loaded module the drivers share, and its replacement after a failure. A failing cycle leaves
 * the module in a bad state (leaked transactions, a crashed close_ctree), so the module is unloaded
 * (which is also where rmmod's leak reports come from) and a fresh one loaded. With several
 * filesystems every driver first finishes its cycle and waits at the barrier; the last to arrive
 * swaps the module.
 */
public final class ModuleHost {
    /** Small, so that a second 8 MiB data chunk is cheap to allocate and to empty again. */
    public static final long DEVICE_SIZE = 64L << 20;
    /**
     * The last filesystem's device when a run has several (stop 54): the smallest the port's mkfs takes, an 8 MiB
     * metadata chunk and 4 MiB data chunks — a filesystem where the lanes' transaction starts and buffered writes run out
     * of metadata space, wait on tickets and the async reclaim work flushes for them (space-info.c).
     */
    public static final long SMALL_DEVICE_SIZE = 32L << 20;

    private final KernelConfig config;
    private final int filesystems;
    private final Perturbation perturbation;
    private final RunStats stats;
    private final long seed;
    /** {@code --faults} has drop_snapshot's ENOMEM (with several filesystems it is armed module-wide). */
    private final boolean orphanItemFault;
    /** Volatile so the watchdog and the final report can read it while a driver holds the lock. */
    private volatile BtrfsModule module;
    private volatile BlockDevice[] devices;
    /** Each driver's second device (the lanes workload's second-device lane). */
    private volatile BlockDevice[] devices2;
    private volatile BlockDevice[] spares;
    private int parties;
    private int arrived;
    private long generation;
    private boolean reloadRequested;
    private UnloadReport lastReport;

    ModuleHost(KernelConfig config, int filesystems, Perturbation perturbation, RunStats stats, long seed, boolean orphanItemFault) {
        this.orphanItemFault = orphanItemFault;
        this.config = config;
        this.filesystems = filesystems;
        this.perturbation = perturbation;
        this.stats = stats;
        this.seed = seed;
        this.parties = filesystems;
        load();
    }

    /** Tests: called with every module loaded (to arm a hook that forces a hang, say). */
    static volatile java.util.function.Consumer<BtrfsModule> onLoad;

    private void load() {
        module = BtrfsModule.load(config);
        java.util.function.Consumer<BtrfsModule> l = onLoad;
        if (l != null) {
            l.accept(module);
        }
        devices = new BlockDevice[filesystems];
        devices2 = new BlockDevice[filesystems];
        for (int i = 0; i < filesystems; i++) {
            // behind a dm-flakey target, as fstests' power-cut tests have theirs: a lanes cycle may end with a power
            // cut (stop 35); the disk under it is never used directly
            devices[i] = module.createFlakeyDevice(deviceName(i), module.createDevice(deviceName(i) + "-disk", deviceSize(i)));
        }
        for (int i = 0; i < filesystems; i++) {
            devices2[i] = module.createDevice(deviceName(filesystems + i), DEVICE_SIZE);
        }
        spares = new BlockDevice[filesystems];
        for (int i = 0; i < filesystems; i++) {
            // the replace lane's target (stop 65): a disk of the same size behind dm-flakey too, so a power cut cuts
            // both devices of a filesystem whose replace runs (the machine loses power, not one disk)
            String n = deviceName(2 * filesystems + i);
            spares[i] = module.createFlakeyDevice(n, module.createDevice(n + "-disk", deviceSize(i)),
                devices[i] instanceof org.jbtrfs.core.FlakeyBlockDevice f ? f : null);
        }
        if (perturbation != null) {
            module.hooks().setListener(perturbation);
            if (filesystems > 1 && orphanItemFault) {
                // faults are module-wide: with several drivers they cannot be armed per cycle
                module.faults().armProbability(Fault.DEL_ORPHAN_ITEM_ENOMEM, 0.3,
                    new SplittableRandom(Seeds.mix(seed + generation)).nextLong());
            }
        }
    }

    /** {@link #SMALL_DEVICE_SIZE} for the last of several filesystems, else {@link #DEVICE_SIZE}. */
    long deviceSize(int i) { return filesystems > 1 && i == filesystems - 1 ? SMALL_DEVICE_SIZE : DEVICE_SIZE; }

    static String deviceName(int i) { return i < 23 ? "sd" + (char) ('c' + i) : "sd" + i; }

    BtrfsModule module() { return module; }

    BlockDevice device(int i) { return devices[i]; }

    BlockDevice device2(int i) { return devices2[i]; }

    /** Filesystem {@code i}'s spare disk: the replace lane's target, and the filesystem's device after a replace. */
    BlockDevice spare(int i) { return spares[i]; }

    synchronized boolean reloadRequested() { return reloadRequested; }

    synchronized void requestReload() { reloadRequested = true; }

    /** A line for the run's summary: something the host had to do that a reader must know. */
    void note(String line) { stats.hostNotes.add(line); }

    /** {@code n} operations of a cycle waited past the stall threshold during the JVM's warm-up ({@code Busy.warmUpSink}). */
    void warmUps(int n) { stats.warmUps.addAndGet(n); }

    /**
     * Waits until every remaining driver arrived, then unloads and reloads the module; returns the
     * unload report. Callers must have nothing mounted.
     */
    synchronized UnloadReport reloadBarrier() {
        long gen = generation;
        arrived++;
        if (arrived >= parties) {
            swap();
        } else {
            while (generation == gen) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return null;
                }
            }
        }
        return lastReport;
    }

    /** A driver that finished its run leaves the barrier party. */
    synchronized void leave() {
        parties--;
        if (reloadRequested && parties > 0 && arrived >= parties) {
            swap();
        }
    }

    private void swap() {
        lastReport = unload();
        load();
        arrived = 0;
        reloadRequested = false;
        generation++;
        stats.reloads.incrementAndGet();
        notifyAll();
    }

    /** Unmounts whatever a broken cycle left mounted and unloads, counting hook arrivals and faults. */
    private UnloadReport unload() {
        stats.addHookCounts(module.hooks().arrivalCounts());
        for (Fault f : Fault.values()) {
            stats.addFault(f, module.faults().fired(f));
        }
        for (Btrfs fs : module.mounts()) {
            try {
                fs.umount();
            } catch (RuntimeException ignored) {
                // a crashed close_ctree: the module reports what leaked
            }
        }
        if (!module.mounts().isEmpty()) {
            // still mounted (a file a broken cycle could not close): as a machine is rebooted, panic it so
            // it can be unloaded; rmmod reports what the filesystem held. The run must go on.
            Internals.kernel(module).panic("stress: cannot unmount " + module.mounts() + " to replace the module");
        }
        try {
            return module.unload();
        } catch (BtrfsException e) {
            if (e.errno() != Errno.EBUSY) {
                throw e;
            }
            // a superblock with no mount point left: a mount or umount still running in a lane the broken cycle
            // abandoned. rmmod refuses, as the kernel's would; the run reboots the machine (a panic) and says
            // so in its summary, with what the module's threads were sleeping on
            note("the module could not be unloaded (" + e.getMessage() + "; sleeping: "
                + Internals.kernel(module).sched().blocked() + "): panicked to replace it");
            Internals.kernel(module).panic("stress: " + e.getMessage() + ": rebooting to replace the module");
            return module.unload();
        }
    }

    /** Final unload at the end of the run. */
    synchronized UnloadReport shutdown() {
        if (module == null) {
            return null;
        }
        UnloadReport r = unload();
        module = null;
        return r;
    }
}
