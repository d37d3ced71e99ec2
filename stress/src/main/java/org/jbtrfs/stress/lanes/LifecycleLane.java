package org.jbtrfs.stress.lanes;

import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.stress.schedule.ScheduleScope;
import org.jbtrfs.stress.workload.RoLeakCheck;

/**
 * The lifecycle lane: remount RO and RW (in a cycle with a free-space cache option, RW sometimes with it), remounts that
 * change an option (commit=N, autodefrag, noautodefrag, async discard, thread_pool=N), umount and mount
 * again (sometimes -o ro), while the other lanes work on the filesystem. A refused remount or umount
 * (EBUSY: open files, unlinked inodes alive) is normal. Every umount is checked like the cycle's last:
 * a transaction left open, or a BUG out of close_ctree, fails the cycle. In a cycle whose plan says so, a step may
 * first freeze the filesystem (fsfreeze -f; the other lanes' writes and the kthreads' transactions block), sometimes
 * mount the device at a second mount point meanwhile (as a backup script does) and unmount it, then thaw it.
 */
final class LifecycleLane extends LaneWorker {
    /** The freeze steps' own draws: a cycle without freezes makes the choices it made before them. */
    private final java.util.SplittableRandom freezeDraw;
    /** Which option a remount changes (stop 31): commit=N, autodefrag or noautodefrag. */
    private final java.util.SplittableRandom optionDraw;
    /** Whether an option-change remount of a discard=async cycle toggles async discard (stop 33): a stream of its own. */
    private final java.util.SplittableRandom discardDraw;
    /** Whether an RO→RW remount of a cycle with a free-space cache option asks for it (stop 34): a stream of its own. */
    private final java.util.SplittableRandom spaceCacheDraw;
    /** Whether a freeze step unmounts the frozen filesystem (stop 30): a stream of its own, the others' draws stay. */
    private final java.util.SplittableRandom frozenUmountDraw;
    /**
     * Whether an option-change remount also asks for another thread_pool=N (stop 67: btrfs_resize_thread_pool sets the
     * workqueues' limit, the scrub's completion queue among them): a stream of its own.
     */
    private final java.util.SplittableRandom threadPoolDraw;
    /** How often an option-change remount asks for a thread_pool too. */
    static final double P_THREAD_POOL_REMOUNT = 0.3;
    /**
     * Whether an option-change remount turns flushoncommit off or on (stop 67: the option read twice by a commit running
     * meanwhile, btrfs_start_delalloc_flush and btrfs_wait_delalloc_flush), and whether an RO remount asks for another
     * thread_pool (the resize runs before that remount cancels a scrub): streams of their own.
     */
    private final java.util.SplittableRandom flushOnCommitDraw;
    private final java.util.SplittableRandom roThreadPoolDraw;
    /** How often an option-change remount toggles flushoncommit, and an RO remount asks for a thread_pool. */
    static final double P_FLUSHONCOMMIT_TOGGLE = 0.2;
    static final double P_THREAD_POOL_RO = 0.2;
    /** Whether an umount step of a power-cut cycle cuts the power first (stop 35): a stream of its own. */
    private final java.util.SplittableRandom powerCutDraw;
    /** How often an umount step of a cycle whose plan cuts the power cuts it first. */
    static final double P_POWER_CUT_STEP = 0.5;
    /** How often a freeze step unmounts the frozen filesystem and mounts it again to thaw it. */
    static final double P_UMOUNT_FROZEN = 0.3;

    LifecycleLane(LaneContext cx) {
        super(LaneKind.LIFECYCLE, cx, 0.45, 0.6, 1.0);
        freezeDraw = org.jbtrfs.stress.Seeds.stream(cx.cycleSeed, "lane:lifecycle:freeze");
        optionDraw = org.jbtrfs.stress.Seeds.stream(cx.cycleSeed, "lane:lifecycle:option");
        frozenUmountDraw = org.jbtrfs.stress.Seeds.stream(cx.cycleSeed, "lane:lifecycle:freeze-umount");
        discardDraw = org.jbtrfs.stress.Seeds.stream(cx.cycleSeed, "lane:lifecycle:discard");
        spaceCacheDraw = org.jbtrfs.stress.Seeds.stream(cx.cycleSeed, "lane:lifecycle:space-cache");
        powerCutDraw = org.jbtrfs.stress.Seeds.stream(cx.cycleSeed, "lane:lifecycle:power-cut");
        threadPoolDraw = org.jbtrfs.stress.Seeds.stream(cx.cycleSeed, "lane:lifecycle:thread-pool");
        flushOnCommitDraw = org.jbtrfs.stress.Seeds.stream(cx.cycleSeed, "lane:lifecycle:flushoncommit");
        roThreadPoolDraw = org.jbtrfs.stress.Seeds.stream(cx.cycleSeed, "lane:lifecycle:thread-pool-ro");
    }

    @Override
    void body() {
        try {
            for (int i = 0; i < cx.plan.lifecycleSteps() && !cx.broken.get(); i++) {
                pause();
                Btrfs fs = fs();
                if (fs == null || !fs.isMounted()) {
                    mount();
                    continue;
                }
                if (cx.plan.freeze() && freezeDraw.nextDouble() < 0.25) {
                    freezeAndThaw(fs);
                }
                double u = mix.remap(r.nextDouble());
                if (u < 0.45) {
                    if (fs.isReadOnly()) {
                        RoLeakCheck.check(() -> op("inspect", fs::inspect), cx.obs, kind.label);
                        // stop 34: half the RO→RW remounts of a cycle with a free-space cache option ask for it again
                        // (5.11's btrfs_start_pre_rw_mount creates the free space tree, clears it or the v1 caches)
                        String rw = !cx.plan.spaceCache().isEmpty() && spaceCacheDraw.nextBoolean()
                            ? "rw," + cx.plan.spaceCache() : "rw";
                        run("remount rw", () -> fs.remount(rw));
                    } else {
                        // EBUSY while a file is open for writing or an unlinked one alive (sb_prepare_remount_readonly)
                        String ro = roThreadPoolDraw.nextDouble() < P_THREAD_POOL_RO
                            ? "ro,thread_pool=" + (1 + roThreadPoolDraw.nextInt(LanePlan.MAX_THREAD_POOL)) : "ro";
                        run("remount " + ro, () -> fs.remount(ro));
                    }
                } else if (u < 0.6) {
                    String opt = "commit=" + (1 + r.nextInt(3));
                    // stop 31: a third of these toggle autodefrag instead (btrfs_remount_begin waits for the defragger
                    // when it goes off, btrfs_remount_cleanup empties its tree); drawn from a stream of its own
                    double t = optionDraw.nextDouble();
                    String toggle = t < 2.0 / 3 ? opt : t < 5.0 / 6 ? "autodefrag" : "noautodefrag";
                    // stop 33: in a discard=async cycle a third of them turn async discard off or on again
                    // (btrfs_remount_cleanup: btrfs_discard_cleanup or btrfs_discard_resume)
                    String change = (cx.plan.discard() && discardDraw.nextDouble() < 1.0 / 3
                        ? (discardDraw.nextBoolean() ? "nodiscard" : "discard=async") : toggle)
                        + (threadPoolDraw.nextDouble() < P_THREAD_POOL_REMOUNT
                            ? ",thread_pool=" + (1 + threadPoolDraw.nextInt(LanePlan.MAX_THREAD_POOL)) : "")
                        + (flushOnCommitDraw.nextDouble() < P_FLUSHONCOMMIT_TOGGLE
                            ? (cx.plan.flushOnCommit() == flushOnCommitDraw.nextBoolean() ? ",noflushoncommit" : ",flushoncommit") : "");
                    run("remount " + change, () -> fs.remount(change));
                } else {
                    if (cx.plan.powerCut() && !cx.dropping && cx.device instanceof FlakeyBlockDevice flakey
                        && powerCutDraw.nextDouble() < P_POWER_CUT_STEP) {
                        // stop 35: _flakey_drop_and_remount among the lanes — they go on writing into the cut until an
                        // umount closes the filesystem (a refused one, EBUSY, leaves the power cut)
                        run("power cut", flakey::dropWrites);
                        cx.powerCutStarted();
                    }
                    if (umount(fs)) {
                        cx.endPowerCutIfClosed();
                        mount();
                    }
                }
            }
        } finally {
            cx.finish();
        }
    }

    /**
     * fsfreeze -f, a short hold, sometimes a mount of the device elsewhere (the cycle's options, read-write unless the
     * cycle mounts -o ro) listed and unmounted, sometimes an umount of the frozen filesystem itself and a mount of it
     * again, fsfreeze -u (through that mount, then). A refused freeze (EBUSY) ends the step. The thaw and the umount
     * elsewhere happen even when the cycle breaks meanwhile (another lane failed): a filesystem left frozen would hold
     * every other lane's write, and the cycle's end, until the watchdog's panic.
     *
     * <p>The umount of a frozen filesystem (stop 30) is the kernel's: EBUSY while a syscall is in flight through the
     * mount (another lane's write blocked by the freeze); otherwise the mount goes and the superblock stays, frozen,
     * held by the freeze's s_active (freeze_super), no close_ctree; a mount of the device then finds that superblock
     * (sget), as it is — read-only or not — and FITHAW through it thaws it (thaw_super drops the freeze's reference).
     */
    void freezeAndThaw(Btrfs fs) {
        if (!run("fsfreeze -f", fs::freeze)) {
            return;
        }
        Btrfs[] elsewhere = new Btrfs[1];
        Btrfs[] thawVia = {fs};
        boolean ro = fs.isReadOnly();
        try {
            ScheduleScope.sleep(20_000 + freezeDraw.nextInt(280_000));
            if (freezeDraw.nextBoolean()) {
                elsewhere[0] = op("mount elsewhere", () -> cx.module.mount(fs.device(), cx.plan.mountOptions(false)));
                if (elsewhere[0] != null) {
                    op("list elsewhere", () -> elsewhere[0].list(""));
                    run("umount elsewhere", elsewhere[0]::umount);
                }
            }
            if (frozenUmountDraw.nextDouble() < P_UMOUNT_FROZEN) {
                thawVia[0] = umountFrozenAndMountAgain(fs, ro);
            }
        } finally {
            if (elsewhere[0] != null && elsewhere[0].isMounted()) {
                quietly(elsewhere[0]::umount);
            }
            Btrfs t = thawVia[0];
            if (!t.isMounted()) {
                // unmounted while frozen and not mounted again (the cycle broke in between): the superblock would stay
                // frozen, held by the freeze, with no mount to thaw through (and the module's unload EBUSY)
                Btrfs m = mountQuietly(t.device(), ro);
                if (m != null) {
                    cx.mounted(m);
                    t = m;
                }
            }
            if (cx.broken.get()) {
                quietly(t::thaw);
            } else {
                run("fsfreeze -u", t::thaw);
            }
        }
    }

    /**
     * umount of the frozen filesystem, then a mount of it again with the cycle's options, read-only if it is: the mount
     * to thaw through — the new one, or {@code fs} when the umount was refused (EBUSY: a syscall in flight). A mount
     * refused after the umount leaves a frozen superblock no one can thaw: the cycle fails with it.
     */
    private Btrfs umountFrozenAndMountAgain(Btrfs fs, boolean ro) {
        if (!run("umount frozen", fs::umount)) {
            return fs;
        }
        Btrfs m = op("mount frozen", () -> cx.module.mount(fs.device(), cx.plan.mountOptions(ro)));
        if (m == null) {
            cx.obs.laneError(kind.label, "mount frozen", new IllegalStateException(
                "a frozen superblock left without a mount: the mount of " + fs.device().name() + " again was refused"));
            cx.breakCycle();
            throw new StopLane();
        }
        cx.mounted(m);
        return m;
    }

    /** A mount of the cycle's device as an undo step (read-only if {@code ro}), or null if refused. */
    private Btrfs mountQuietly(BlockDevice through, boolean ro) {
        try {
            return cx.module.mount(through, cx.plan.mountOptions(ro));
        } catch (RuntimeException e) {
            return null; // a panicked module refuses it too: the module is replaced with the failing cycle
        }
    }

    /** An undo step of a cycle that already failed: its own error adds nothing to the verdict. */
    private static void quietly(Runnable undo) {
        try {
            undo.run();
        } catch (RuntimeException e) {
            // the cycle's failure is already recorded; a panicked module or a gone mount refuses this too
        }
    }

    private void mount() {
        boolean ro = r.nextDouble() < 0.2;
        String opts = cx.plan.mountOptions(ro);
        BlockDevice on = cx.fsDevice();
        Btrfs m = op(ro ? "mount -o ro" : "mount", () -> cx.module.mount(on, opts));
        if (m != null) {
            cx.mounted(m);
        }
    }

    /** umount; true if it unmounted cleanly (EBUSY: still mounted, false). */
    private boolean umount(Btrfs fs) {
        if (cx.broken.get()) {
            throw new StopLane();
        }
        busy.enter("umount");
        try {
            fs.umount();
        } catch (BtrfsException e) {
            busy.outcome(e.errno().name());
            if (normal(e.errno())) { // EBUSY; never an injected errno: an umount completes whatever failed before
                return false;
            }
            umounted(fs, e);
            return false;
        } catch (KernelPanic e) {
            cx.breakCycle();
            throw new StopLane();
        } catch (RuntimeException | Error e) {
            umounted(fs, e);
            return false;
        } finally {
            busy.exit();
        }
        completed("umount");
        return umounted(fs, null);
    }

    /** Checks what an umount left; a leak or an error breaks the cycle (the module must be replaced). */
    private boolean umounted(Btrfs fs, Throwable error) {
        Inspection after = fs.inspect();
        cx.obs.umounted(kind.label, after, error);
        if (error != null || !after.openTransactions().isEmpty()) {
            cx.breakCycle();
            throw new StopLane();
        }
        return true;
    }
}
