package org.jbtrfs.fs;

import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.WorkOwner;
import org.jbtrfs.core.kernel.Blockers;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.kernel.RwSemaphore;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.workqueue.BtrfsWork;

/**
 * The -o flushoncommit steps of btrfs_commit_transaction (fs/btrfs/transaction.c), installed into the transaction
 * layer: writeback of the superblock's dirty inodes before the commit waits for its writers, and a wait for every
 * ordered extent before it blocks joins.
 */
final class FlushOnCommit implements FsInfo.CommitFlush {
    private final FsContext ctx;

    FlushOnCommit(FsContext ctx) { this.ctx = ctx; }

    /**
     * kernel: btrfs_start_delalloc_flush() — with FLUSHONCOMMIT, 5.11's writeback_inodes_sb(sb, WB_REASON_SYNC), whose
     * __writeback_inodes_sb_nr warns when the bdi has dirty inodes and nobody holds s_umount (fs-writeback.c:2468): a
     * commit of the transaction kthread, an fsync or an ioctl. {@link FixSwitch#FLUSHONCOMMIT_WRITEBACK_WARN}
     * (a0f0cf8341e3) calls try_to_writeback_inodes_sb instead: s_umount taken for read if it can be, else no writeback
     * (an umount, a remount or a freeze holds it for write, and its sync_filesystem wrote the data).
     */
    @Override
    public void startDelallocFlush() {
        FsInfo fs = ctx.fs;
        if (!fs.mountOpt.test(MountOpt.FLUSHONCOMMIT)) {
            return;
        }
        if (fs.applied(FixSwitch.FLUSHONCOMMIT_WRITEBACK_WARN)) {
            tryToWritebackInodesSb();
            return;
        }
        if (!ctx.writeback.hasDirtyIo()) {
            return; // __writeback_inodes_sb_nr: "if (!bdi_has_dirty_io(bdi) ...) return;" before its WARN_ON
        }
        fs.log().warnOnAt(!sUmountLocked(), "fs/fs-writeback.c", 2468, "__writeback_inodes_sb_nr");
        writebackByTheFlusher();
    }

    /**
     * kernel: try_to_writeback_inodes_sb() in fs/fs-writeback.c — down_read_trylock(&sb->s_umount), the writeback,
     * up_read. An rwsem is not recursive: a task holding it for write (an umount's own commit) fails the trylock too.
     */
    private void tryToWritebackInodesSb() {
        VfsSuper sb = ctx.sb;
        if (sb == null || sb.sUmount.isWriteLocked()) {
            return; // in open_ctree sget's s_umount is held for write by the mounter
        }
        RwSemaphore s = sb.sUmount;
        if (!s.readLock().tryLock()) {
            return;
        }
        try {
            if (ctx.writeback.hasDirtyIo()) {
                writebackByTheFlusher();
            }
        } finally {
            s.readLock().unlock();
        }
    }

    /**
     * rwsem_is_locked(&sb->s_umount): anyone holds it, for read or write. While open_ctree runs (no superblock yet in
     * the port) the mounter holds it for write, as sget's alloc_super took it.
     */
    private boolean sUmountLocked() {
        VfsSuper sb = ctx.sb;
        return sb == null || sb.sUmount.isWriteLocked() || sb.sUmount.getReadLockCount() > 0;
    }

    /**
     * kernel: the rest of __writeback_inodes_sb_nr() — bdi_split_work_to_wbs queues the writeback as a work for the
     * bdi's flusher (wb_workfn on bdi_wq), wb_wait_for_completion waits for it: the writeback runs in the flusher's
     * kworker, not in the committer (its joins of the committing transaction are the flusher's own, as in the kernel).
     */
    private void writebackByTheFlusher() {
        FsInfo fs = ctx.fs;
        Object lock = new Object();
        boolean[] done = {false};
        Thread[] flusher = {null};
        fs.workqueues().workers.pool().bdiWq().queueWork(new BtrfsWork(() -> {
            synchronized (lock) {
                flusher[0] = Thread.currentThread();
            }
            try {
                WorkOwner.run(fs.workqueues().device(), ctx.writeback::writebackInodesSb);
            } finally {
                synchronized (lock) {
                    done[0] = true;
                    lock.notifyAll();
                }
            }
        }));
        synchronized (lock) {
            fs.kernel.sched().waitUntil(lock, "wb_wait_for_completion", Blockers.thread(() -> {
                synchronized (lock) {
                    return flusher[0];
                }
            }), () -> done[0]);
        }
    }

    /** kernel: btrfs_wait_delalloc_flush() — with FLUSHONCOMMIT, btrfs_wait_ordered_roots(fs_info, U64_MAX, 0, (u64)-1). */
    @Override
    public void waitDelallocFlush() {
        if (ctx.fs.mountOpt.test(MountOpt.FLUSHONCOMMIT)) {
            ctx.ordered.waitOrderedRoots();
        }
    }
}
