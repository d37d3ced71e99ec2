package org.jbtrfs.fs;

import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.kernel.Sched;
import org.jbtrfs.core.kernel.SlabObject;

/**
 * struct btrfs_ordered_extent: a range of file data whose extent cow_file_range allocated at writeback
 * and whose file extent item btrfs_finish_ordered_io inserts once the data is written. It holds a
 * reference on its inode (igrab in btrfs_add_ordered_extent) until the last btrfs_put_ordered_extent,
 * which hands it to btrfs_add_delayed_iput. Allocated from the btrfs_ordered_extent slab cache, so one
 * never released shows at module unload.
 */
final class OrderedExtent {
    final InodeData inode;
    /** file_offset, num_bytes: the file range. */
    final long fileOffset;
    final long numBytes;
    /** disk_bytenr, disk_num_bytes: the extent reserved for it. */
    final long diskBytenr;
    final long diskNumBytes;
    /** refcount: 1 for the inode's ordered tree, plus one per user (finish, waiters). */
    final AtomicInteger refs = new AtomicInteger(1);
    final SlabObject slabObj;
    /** The module's scheduler: waiters sleep through it, so a panic ends their wait and inspect() names it. */
    private final Sched sched;
    /** The pages' contents: readers see them until the file extent item exists. */
    private final byte[] data;

    // ---- guarded by this ----
    /** bytes_left: bytes whose write has not ended yet. */
    private long bytesLeft;
    /** BTRFS_ORDERED_IOERR */
    private boolean ioerr;
    /** BTRFS_ORDERED_COMPLETE: removed from the trees, waiters woken. */
    private boolean complete;
    /** The last reference was dropped (port bookkeeping: who waits for the delayed iput to be queued). */
    private boolean released;
    /** The sums btrfs_csum_one_bio computed, one per 4 KiB sector: add_pending_csums puts them in the csum tree. */
    private int[] sums;
    /** ordered->completion's done count (init_completion at btrfs_add_ordered_extent; the flush work completes it). */
    private int completionDone;

    OrderedExtent(InodeData inode, long fileOffset, long numBytes, long diskBytenr, long diskNumBytes, byte[] data,
                  SlabObject slabObj, Sched sched) {
        this.sched = sched;
        this.inode = inode;
        this.fileOffset = fileOffset;
        this.numBytes = numBytes;
        this.diskBytenr = diskBytenr;
        this.diskNumBytes = diskNumBytes;
        this.data = data;
        this.slabObj = slabObj.tag(this);
        this.bytesLeft = numBytes;
    }

    byte[] data() { return data; }

    /** Accounts {@code len} bytes whose write ended; true when these were the last ones. */
    synchronized boolean decPending(long len, boolean uptodate) {
        if (!uptodate) {
            ioerr = true;
        }
        bytesLeft -= len;
        return bytesLeft == 0;
    }

    synchronized boolean ioerr() { return ioerr; }

    /** set_bit(BTRFS_ORDERED_IOERR) (btrfs_destroy_ordered_extents). */
    synchronized void setIoerr() { ioerr = true; }

    synchronized void setSums(int[] s) { sums = s; }

    synchronized int[] sums() { return sums; }

    /** set_bit(BTRFS_ORDERED_COMPLETE) + wake_up(&entry->wait). */
    synchronized void markComplete() {
        complete = true;
        notifyAll();
    }

    synchronized boolean isComplete() { return complete; }

    /** kernel: btrfs_start_ordered_extent(entry, 1)'s wait_event(entry->wait, COMPLETE). */
    synchronized void waitComplete() {
        sched.waitUntil(this, "wait_event(ordered extent COMPLETE)", () -> complete);
    }

    /** complete(&ordered->completion): the flush work saw the extent COMPLETE. */
    synchronized void complete() {
        completionDone++;
        notifyAll();
    }

    /** wait_for_completion(&ordered->completion) — btrfs_wait_ordered_extents' wait for the extent's flush work. */
    synchronized void waitForCompletion() {
        sched.waitUntil(this, "wait_for_completion(&ordered->completion)", () -> completionDone > 0);
        completionDone--;
    }

    synchronized void markReleased() {
        released = true;
        notifyAll();
    }

    /** Waits until the last reference is gone (and with it, the inode reference was handed on). */
    synchronized void waitReleased() {
        sched.waitUntil(this, "wait for the last btrfs_put_ordered_extent", () -> released);
    }

    @Override
    public String toString() {
        return "ordered extent [" + fileOffset + ", " + (fileOffset + numBytes) + ") of " + inode + " at " + diskBytenr;
    }
}
