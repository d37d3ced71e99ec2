package org.jbtrfs.transaction;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.disk.DevReplaceItem;
import org.jbtrfs.core.kernel.FreedSlot;
import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.core.kernel.Mutex;
import org.jbtrfs.core.kernel.RwSemaphore;
import org.jbtrfs.core.kernel.Sched;

/**
 * struct btrfs_dev_replace (fs_info->dev_replace, fs/btrfs/dev-replace.c of 5.11; btrfs_init_dev_replace_locks in
 * disk-io.c): the replace state and its cursors, guarded by {@link #rwsem}; lock_finishing_cancel_unmount, which keeps
 * a cancel or an umount out of the replace's end; and the item's writeback in a commit ({@link #runDevReplace},
 * commit_cowonly_roots' btrfs_run_dev_replace, then the committed cursor). The replace itself (start, the copy, the
 * end, cancel, suspend, the resume kthread) is the fs layer's.
 */
public final class DevReplaceControl {
    /** BTRFS_IOCTL_DEV_REPLACE_STATE_*, by their values. */
    public enum State {
        NEVER_STARTED, STARTED, FINISHED, CANCELED, SUSPENDED;

        /** The state an item stores, or null for a value 5.11 does not know. */
        public static State of(long v) { return v >= 0 && v < values().length ? values()[(int) v] : null; }
    }

    /** BTRFS_DEV_REPLACE_ITEM_CONT_READING_FROM_SRCDEV_MODE_ALWAYS. */
    public static final long CONT_READING_ALWAYS = 0;

    /** dev_replace->rwsem. */
    public final RwSemaphore rwsem;
    /** dev_replace->lock_finishing_cancel_unmount. */
    public final Mutex lockFinishingCancelUnmount;
    /** The resume kthreads started and not yet returned (the proposed fix's count, on a wait queue of its own). */
    public final ResumeKthreads resumeKthreads;
    /** fs_info itself as btrfs_free_fs_info frees it: a resume kthread that ends later uses it freed. */
    private final FreedSlot freed = new FreedSlot();

    // ---- guarded by rwsem ------------------------------------------------------------------------
    public State replaceState = State.NEVER_STARTED;
    public long contReadingFromSrcdevMode;
    public long timeStarted;
    public long timeStopped;
    /** atomic64 num_write_errors: a copy's write to the target that failed. */
    public final java.util.concurrent.atomic.AtomicLong numWriteErrors = new java.util.concurrent.atomic.AtomicLong();
    /** The num_write_errors the item got at its last writeback (the proposed DEV_REPLACE_TARGET_WRITE_ERRORS). */
    public volatile long numWriteErrorsWritten;
    public final java.util.concurrent.atomic.AtomicLong numUncorrectableReadErrors = new java.util.concurrent.atomic.AtomicLong();
    /** srcdev: the filesystem's device (devid 1) while a replace is valid and started or suspended, else null. */
    public BlockDevice srcdev;
    /** srcdev->devid as the item records it. */
    public long srcDevid;
    /** tgtdev (devid 0 until the end), or null — missing at mount, or none. */
    public BlockDevice tgtdev;
    public volatile long cursorLeft;
    public volatile long cursorRight;
    /** committed_cursor_left: where a resumed replace starts again (the cursor the last commit wrote). */
    public volatile long committedCursorLeft;
    public volatile long cursorLeftLastWriteOfItem;
    public boolean isValid;
    public volatile boolean itemNeedsWriteback;
    /**
     * The proposed DEV_REPLACE_TARGET_WRITE_ERRORS: a mount restarted the copy from the beginning and no commit has
     * recorded the restart yet (the resumed copy marks the target behind before it writes anything; stop 78).
     */
    public volatile boolean restartUnrecorded;

    DevReplaceControl(Sched sched, Lockdep lockdep) {
        this.rwsem = new RwSemaphore("&dev_replace->rwsem", lockdep);
        this.lockFinishingCancelUnmount = new Mutex("lock_finishing_cancel_unmount", lockdep,
            "&dev_replace->lock_finishing_cancel_unmount");
        this.resumeKthreads = new ResumeKthreads(sched, new Object());
    }

    /** kernel: btrfs_dev_replace_is_ongoing() — a valid replace STARTED or SUSPENDED (even with its target missing). */
    public boolean isOngoing() {
        return isValid && (replaceState == State.STARTED || replaceState == State.SUSPENDED);
    }

    /**
     * kernel: btrfs_run_dev_replace() — in commit_cowonly_roots: unless nothing changed since the last write, the item
     * (0, DEV_REPLACE, 0) in the device tree gets the state as it is now (an item of another size is replaced), and the
     * cursor written is remembered for the committed cursor.
     */
    void runDevReplace(TransHandle h) {
        // proposed DEV_REPLACE_TARGET_WRITE_ERRORS: a target's failed write counted since the item was last written is a
        // change to write too — the count must reach the disk with the commit after it, or a crash loses it and the next
        // mount's resumed replace finishes onto the target that missed the write (stop 72)
        boolean errorsChanged = h.fsInfo.applied(org.jbtrfs.core.FixSwitch.DEV_REPLACE_TARGET_WRITE_ERRORS)
            && numWriteErrors.get() != numWriteErrorsWritten;
        rwsem.readLock().lock();
        try {
            if (!isValid || !itemNeedsWriteback && !errorsChanged) {
                return;
            }
        } finally {
            rwsem.readLock().unlock();
        }
        Root dev = h.fsInfo.devRoot();
        byte[] old = Trees.lookup(h.fsInfo, dev, DevReplaceItem.KEY);
        if (old != null && old.length < DevReplaceItem.SIZE) {
            Trees.delete(h, dev, DevReplaceItem.KEY); // "need to delete old one and insert a new one"
            old = null;
        }
        DevReplaceItem item;
        rwsem.writeLock().lock();
        try {
            cursorLeftLastWriteOfItem = cursorLeft;
            numWriteErrorsWritten = numWriteErrors.get();
            item = new DevReplaceItem(srcdev != null ? srcDevid : -1L, cursorLeftLastWriteOfItem, cursorRight,
                contReadingFromSrcdevMode, replaceState.ordinal(), timeStarted, timeStopped, numWriteErrorsWritten,
                numUncorrectableReadErrors.get());
            itemNeedsWriteback = false;
        } finally {
            rwsem.writeLock().unlock();
        }
        if (old == null) {
            Trees.insert(h, dev, DevReplaceItem.KEY, item.encode());
        } else {
            Trees.update(h, dev, DevReplaceItem.KEY, item.encode());
        }
    }

    /** commit_cowonly_roots' end: "Update dev-replace pointer once everything is committed". */
    void updateCommittedCursor() { committedCursorLeft = cursorLeftLastWriteOfItem; }

    /** btrfs_free_fs_info(): fs_info (and dev_replace in it) freed for whatever still uses it. */
    public void freeFsInfo(KernelLog log) {
        freed.free(log, "struct btrfs_fs_info (dev_replace)");
    }

    /** A use of fs_info's dev_replace by {@code function}: a KASAN report once btrfs_free_fs_info freed it. */
    public void use(String function) { freed.use(function); }
}
