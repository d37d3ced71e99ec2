package org.jbtrfs.fs;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.workqueue.BtrfsWork;

/**
 * An open file: holds a reference on its inode. Closing it is an iput; the last close of an unlinked
 * file evicts the inode, which starts a transaction. {@link #closeFromWorker()} drops the reference
 * from a workqueue worker, which may not evict, so it queues a delayed iput for the cleaner instead
 * (as ordered-extent completion does).
 */
public final class FileHandle implements AutoCloseable {
    private final Btrfs fs;
    private final Inode inode;
    private final String path;
    private final AtomicBoolean closed = new AtomicBoolean();

    FileHandle(Btrfs fs, Inode inode, String path) {
        this.fs = fs;
        this.inode = inode;
        this.path = path;
    }

    public String path() { return path; }

    public long ino() { return inode.ino(); }

    Inode inode() { return inode; }

    /** close(2): iput in the caller's thread. */
    @Override
    public void close() {
        markClosed();
        fs.releaseHandle(this);
        fs.ctx().cleaner.inodes().iput(inode);
    }

    /**
     * The last reference dropped from a worker (endio_write_workers): btrfs_add_delayed_iput. Returns
     * once the worker queued it.
     */
    public void closeFromWorker() {
        markClosed();
        var ctx = fs.ctx();
        var q = ctx.fs.workqueues.endioWriteWorkers;
        try {
            q.queueWork(new BtrfsWork(() -> ctx.cleaner.delayedIputs().add(inode)));
            q.flush();
        } finally {
            // only now is the file no longer in use: until the worker dropped its reference an umount is
            // refused (EBUSY), as the kernel's umount waits for the write path (sync_filesystem) before
            // close_ctree — a worker's iput never lands after the kthreads are stopped
            fs.releaseHandle(this);
        }
    }

    private void markClosed() {
        if (!closed.compareAndSet(false, true)) {
            throw new BtrfsException(Errno.EINVAL, "file " + path + " is already closed");
        }
    }

    public boolean isClosed() { return closed.get(); }
}
