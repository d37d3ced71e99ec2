package org.jbtrfs.fs;

import java.time.Duration;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.Crc32cImpl;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.KernelConfig;
import org.jbtrfs.core.LogEntry;
import org.jbtrfs.core.ManualClock;
import org.jbtrfs.testsupport.TestThread;
import org.jbtrfs.testsupport.Waits;

/**
 * Shared scaffolding of the reproducers: a module on a manual clock (the transaction kthread never
 * commits on its own, so a leaked transaction stays leaked), one device, and the fs-aware waits (where a
 * thread sleeps, the cleaner parked at a hook). Threads: {@link org.jbtrfs.testsupport.TestThread}.
 */
final class Repro implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(10);

    final ManualClock clock = new ManualClock();
    final BtrfsModule mod;
    final BlockDevice dev;

    Repro(Crc32cImpl crc, FixSwitch... reverted) {
        this(crc, true, reverted);
    }

    /** A module with {@code fix} applied ({@code fixed}) or reverted, every other fix applied: a reproducer's two directions. */
    static Repro withFix(FixSwitch fix, boolean fixed, Crc32cImpl crc) {
        return fixed ? new Repro(crc) : new Repro(crc, fix);
    }

    Repro(Crc32cImpl crc, boolean assertions, FixSwitch... reverted) {
        this(c -> c.revert(reverted).crc32c(crc).assertions(assertions));
    }

    /** A module configured by {@code config} (applied to the defaults; the manual clock is added). */
    Repro(java.util.function.UnaryOperator<KernelConfig> config) {
        this(64L << 20, config);
    }

    /** The same on a device of {@code deviceSize} bytes (1 GiB and more: kernel-sized chunks, v1 cache inodes). */
    Repro(long deviceSize, java.util.function.UnaryOperator<KernelConfig> config) {
        mod = BtrfsModule.load(config.apply(KernelConfig.defaults()).clock(clock));
        try {
            dev = mod.createDevice("sdc", deviceSize);
            mod.mkfs(dev);
        } catch (RuntimeException | Error e) {
            mod.close(); // the constructor failed: no try-with-resources owns the module yet
            throw e;
        }
    }

    Btrfs mount(String opts) { return mod.mount(dev, opts); }

    /**
     * Waits until the cleaner sleeps in TASK_INTERRUPTIBLE (or parks: an umount), on the cleaner's own event —
     * {@code Cleaner.awaitAsleep}, notified when it goes to sleep; nothing polls. After a hook the cleaner was
     * parked at is released, this is the end of that pass. To wake the cleaner and wait for a whole pass, use
     * {@link Btrfs#runCleanerPass}.
     */
    static void awaitCleanerAsleep(Btrfs fs) {
        if (!fs.ctx().cleaner.awaitAsleep(WAIT.toNanos())) {
            throw new AssertionError("the cleaner did not go to sleep within " + WAIT + "; blocked: " + fs.inspect().blockedOn());
        }
    }

    /**
     * A process's fsync of file "f", written since the last commit ({@code data}) and open O_RDONLY — no write access,
     * so an RO remount neither refuses nor waits for it — held at {@code hook} on its way.
     */
    TestThread<Void> fsyncOfAChangedFileParkedAt(Btrfs fs, byte[] data, Hook hook) {
        fs.createFile("f");
        fs.sync();
        fs.writeFile("f", data);
        FileHandle h = fs.open("f", OpenMode.READ_ONLY);
        mod.hooks().parkAt(hook);
        TestThread<Void> fsync = TestThread.run("fsync", () -> {
            try {
                h.fsync();
            } finally {
                h.close();
            }
        });
        mod.hooks().awaitParked(hook, WAIT);
        return fsync;
    }

    /**
     * After mount the transaction kthread's first loop wakes the cleaner once; wait for both kthreads to
     * settle (the transaction kthread in its timed sleep, the cleaner asleep) so a reproducer starts from a
     * known state.
     */
    Btrfs mountSettled(String opts) {
        Btrfs fs = mount(opts);
        Waits.within(WAIT).until(() -> clock.sleepers() > 0);
        awaitCleanerAsleep(fs);
        if (!fs.isReadOnly()) {
            fs.waitForUuidScan(WAIT); // a fresh filesystem's first read-write mount scans its new UUID tree
            awaitUuidKthreadsGone(mod);
        }
        return fs;
    }

    /**
     * Waits (bounded) until no btrfs-uuid kthread of {@code mod} is left. Its last act is giving uuid_tree_rescan_sem
     * back; then it returns. umount and an RO remount wait for the semaphore, as the kernel's close_ctree and
     * btrfs_remount do, not for that return — so right after them the kthread may still be leaving, touching nothing of
     * the filesystem. The cleaner and transaction kthreads are joined by kthread_stop and are not waited for here.
     */
    static void awaitUuidKthreadsGone(BtrfsModule mod) {
        Waits.within(WAIT).until(() -> mod.kernel().kthreadd().busy().stream().noneMatch("btrfs-uuid"::equals));
    }

    /**
     * Waits (bounded) until no btrfs-balance kthread of {@code mod} is left: a resumed balance's kthread, which nobody
     * joins (the kernel's kthread_run and forget). Tests wait for its end as its own event: the kthread leaves kthreadd.
     */
    static void awaitBalanceKthreadGone(BtrfsModule mod) {
        Waits.within(WAIT).until(() -> mod.kernel().kthreadd().busy().stream().noneMatch("btrfs-balance"::equals));
    }

    /**
     * No kthread of {@code mod} runs (a leaving btrfs-uuid or btrfs-balance kthread waited for first: umount waits for
     * their last act, not their return — {@link #awaitUuidKthreadsGone}, {@link #awaitBalanceKthreadGone}).
     */
    static boolean noKthreadRuns(BtrfsModule mod) {
        awaitUuidKthreadsGone(mod);
        awaitBalanceKthreadGone(mod);
        return mod.kernel().kthreadd().busy().isEmpty();
    }

    /**
     * A settled {@code -o compress} mount with one file of one page of dirty data, closed: its writeback queues one
     * async chunk on the delalloc workqueue and nothing waits for it (DelallocWorkersRoRemountTest).
     */
    Btrfs mountCompressedWithOneDirtyPage() {
        Btrfs fs = mountSettled("compress");
        fs.createFile("f");
        fs.writeFile("f", new byte[1000]);
        return fs;
    }


    /** A commit EIO: the transaction aborts, the filesystem is forced read-only. */
    void abortByACommitEio(Btrfs fs) {
        mod.faults().armOnce(org.jbtrfs.core.Fault.COMMIT_TRANSACTION_EIO);
        org.junit.jupiter.api.Assertions.assertThrows(org.jbtrfs.core.BtrfsException.class,
            () -> fs.createSubvolume("aborted")); // its commit fails: aborted
        org.junit.jupiter.api.Assertions.assertTrue(fs.isReadOnly(), "forced readonly");
    }

    /** The umount ends without patch 5/5's assertion or a busy inode, and the module unloads clean ({@code what}: the inode). */
    void joinIntoACleanUnload(org.jbtrfs.testsupport.TestThread<Void> umount, Object what) {
        umount.join();
        org.junit.jupiter.api.Assertions.assertFalse(logged("assertion failed"), mod.log().dmesg());
        org.junit.jupiter.api.Assertions.assertFalse(logged("Busy inodes"), mod.log().dmesg());
        UnloadReport rep = mod.unload();
        org.junit.jupiter.api.Assertions.assertTrue(rep.clean(), what + ": " + rep);
    }

    /**
     * Lets an umount held at {@link org.jbtrfs.core.Hook#UMOUNT_BEFORE_STOP_KTHREADS} go on with a delayed iput queued:
     * patch 5/5's assertion fails in close_ctree (the umount's KernelBug), and the inode is the one btrfs_inode left at
     * rmmod.
     */
    void releaseIntoTheDelayedIputsAssertion(org.jbtrfs.testsupport.TestThread<Void> umount) {
        mod.hooks().release(org.jbtrfs.core.Hook.UMOUNT_BEFORE_STOP_KTHREADS);
        org.jbtrfs.core.KernelBug bug = org.junit.jupiter.api.Assertions.assertThrows(org.jbtrfs.core.KernelBug.class, umount::join);
        org.junit.jupiter.api.Assertions.assertTrue(bug.getMessage().contains("list_empty(&fs_info->delayed_iputs)"), bug.getMessage());
        org.junit.jupiter.api.Assertions.assertEquals(1, mod.unload().remaining("btrfs_inode"));
    }

    /**
     * Waits until every ordered extent is freed: a sync returns once they are complete, but the endio-write
     * worker that completed one may still hold its inode reference for a moment (after
     * btrfs_remove_ordered_extent). Setups that need "only the dentry holds the file" wait for this.
     */
    static void awaitOrderedExtentsReleased(Btrfs fs) {
        Waits.within(WAIT).until(() -> fs.ctx().ordered.live() == 0);
    }

    /**
     * wake_up_process(cleaner_kthread), as the transaction kthread and btrfs_commit_super do, so that a
     * new pass starts: a wake-up of a running cleaner is lost (the kernel's semantics), so wait until it
     * sleeps first. If the wake-up still returns false, another waker (the transaction kthread woken by a
     * remount) got there first and that pass started after this call just the same.
     */
    static void wakeCleaner(Btrfs fs) {
        awaitCleanerAsleep(fs);
        fs.wakeCleaner();
    }

    /**
     * Waits until {@code thread} sleeps on {@code what} in {@code fs}'s module, as {@link Inspection#blockedOn()}
     * names it ("wait_on_bit(CLEANER_RUNNING)", "mutex_lock(cleaner_mutex) held by btrfs-cleaner",
     * "kthread_park(btrfs-cleaner)", ...): the proof of where a thread waits, read from the kernel's own
     * bookkeeping, not from a thread state or a lapse of time.
     */
    static void awaitBlockedOn(Btrfs fs, String thread, String what) {
        Waits.within(WAIT).until(() -> what.equals(fs.inspect().blockedOn().get(thread)));
    }

    /**
     * Makes the cleaner reach {@code hook} (armed to park) in a pass, with work queued that the pass reaches the hook
     * for. A queueing's wake-up that lands on a running cleaner is lost, as in the kernel — after a remount, say,
     * the transaction kthread's loop may have the cleaner in a pass just then — so: wait until it is parked there
     * or asleep; if asleep, wake it (an explicit wake; if another waker got there first, its pass is as good); then
     * the pass reaches the hook: {@code awaitParked}.
     */
    static void awaitCleanerParkedAt(Repro r, Btrfs fs, org.jbtrfs.core.Hook hook) {
        Waits.within(WAIT).until(() -> r.mod.hooks().isParked(hook) || fs.ctx().cleaner.isAsleep());
        if (!r.mod.hooks().isParked(hook)) {
            fs.wakeCleaner();
        }
        r.mod.hooks().awaitParked(hook, WAIT);
    }

    /** What {@code thread} sleeps on in this module's kernel right now (Sched's name), without reading any tree. */
    String sleepingOn(String thread) { return mod.kernel().sched().blocked().get(thread); }

    long count(LogEntry.Kind kind) { return mod.log().count(kind); }

    boolean logged(String text) { return mod.log().contains(text); }

    /**
     * After a failed commit and the umount: btrfs check of the disk is clean, the next mount's root lists exactly
     * {@code names} (what the last good commit had), and the module unloads clean.
     */
    void assertCommittedImageHolds(Crc32cImpl crc, java.util.List<String> names) {
        org.jbtrfs.fs.tools.Check.Report rep = org.jbtrfs.fs.tools.Check.check(dev, crc);
        if (!rep.clean()) {
            throw new AssertionError(rep.toString());
        }
        Btrfs again = mount("");
        java.util.List<String> listed = again.list();
        again.umount();
        if (!listed.equals(names)) {
            throw new AssertionError("the next mount lists " + listed + ", the last good commit had " + names);
        }
        if (!mod.unload().clean()) {
            throw new AssertionError("the module does not unload clean:\n" + mod.log().dmesg());
        }
    }

    /**
     * For an {@code @AfterEach} after failed mounts: asserts that no kthread of the module still runs, and closes
     * the module whether or not that holds, so nothing leaks into the next test.
     */
    void closeCheckingNoKthreadSurvives() {
        try {
            if (!noKthreadRuns(mod)) {
                throw new AssertionError("no kthread of a failed mount survives: " + mod.kernel().kthreadd().busy());
            }
        } finally {
            close();
        }
    }

    @Override
    public void close() {
        mod.close();
    }
}
