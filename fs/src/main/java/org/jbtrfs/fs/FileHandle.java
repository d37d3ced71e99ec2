package org.jbtrfs.fs;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;

/**
 * An open file: holds a reference on its inode. Closing it is an iput; the last close of an unlinked
 * file evicts the inode, which starts a transaction. Writes go to the page cache; {@link #fsync()},
 * {@link #syncFileRange()} and every sync write them back, each written range becoming an ordered
 * extent that holds its own inode reference until its completion on an endio-write worker drops it —
 * {@link #closeFromWorker()} is the close that leaves that worker the last reference.
 *
 * <p>Its {@link OpenMode} is open(2)'s: a handle that writes holds the mount's write access until it is closed
 * (FMODE_WRITER), so it cannot be opened on a read-only mount (EROFS) and an RO remount is refused with EBUSY while
 * it is open; a read-only handle can be kept across any remount, and write(2) on it is EBADF. fsync and
 * sync_file_range take no write access, on any handle.
 */
public final class FileHandle implements AutoCloseable {
    /** One block: more than max_inline (2048), so in the kernel too the write becomes a regular extent. */
    static final int CLOSE_FROM_WORKER_BYTES = 4096;

    private final Btrfs fs;
    private final Inode inode;
    private final String path;
    private final OpenMode mode;
    private final AtomicBoolean closed = new AtomicBoolean();

    FileHandle(Btrfs fs, Inode inode, String path, OpenMode mode) {
        this.fs = fs;
        this.inode = inode;
        this.path = path;
        this.mode = mode;
    }

    public String path() { return path; }

    /** The access mode it was opened with. */
    public OpenMode mode() { return mode; }

    public long ino() { return inode.ino(); }

    Inode inode() { return inode; }

    /**
     * close(2) — kernel: __fput(): btrfs_release_file (after a truncate to size 0 it starts writeback of what was
     * written since: filemap_flush), the write access of a handle that writes (__mnt_drop_write), then the iput in the
     * caller's thread (an unlinked file's last one evicts it, and btrfs_evict_inode joins a transaction), then the
     * mount reference (mntput): until then umount(2) finds the mount busy (EBUSY), so no close_ctree runs under the
     * eviction. EBADF if already closed.
     */
    @Override
    public void close() {
        markClosed();
        fs.handleRelease(this); // f_op->release: btrfs_release_file's flush after a truncate to 0
        if (mode.writes()) {
            fs.dropWriteAccess();
        }
        try {
            fs.ctx().cleaner.inodes().iput(inode);
        } finally {
            fs.releaseHandle(this);
        }
    }

    /**
     * write(2) at the end of the file: into the page cache (see {@link Btrfs#writeFile}). EBADF on a handle opened
     * {@link OpenMode#READ_ONLY}; EROFS once the filesystem was forced read-only by an error.
     */
    public void write(byte[] data) {
        Btrfs.requireNonNull(data, "data");
        checkWritable();
        fs.handleWrite(this, data);
    }

    /** fstat(2)'s st_size: i_size, what the page cache holds included. EBADF if closed. */
    public long size() {
        checkOpen();
        return fs.handleSize(this);
    }

    /**
     * pwrite(2) at {@code offset}, over the bytes there and possibly past the end: into the page cache like
     * {@link #write}, after waiting for writeback in flight on that range (its ordered extents). When the write is
     * written back, its file extent item replaces the part of each item under it (btrfs_drop_extents trims or splits
     * them). An offset beyond the end first expands the file with a hole item up to it (btrfs_cont_expand: a
     * transaction); the hole reads as zeros. EBADF on a handle opened {@link OpenMode#READ_ONLY}; EROFS once the
     * filesystem was forced read-only.
     *
     * @throws IllegalArgumentException if {@code data} is null or {@code offset} is negative
     */
    public void pwrite(long offset, byte[] data) {
        Btrfs.requireNonNull(data, "data");
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative: " + offset);
        }
        checkWritable();
        fs.handlePwrite(this, offset, data);
    }

    /**
     * ftruncate(2) — kernel: btrfs_setattr() → btrfs_setsize(): sets the file's size to {@code length}. Growing puts a
     * hole item over the new range (btrfs_cont_expand) and updates the inode item; shrinking drops the page cache
     * beyond the new end, writes back and waits for the sector holding it (btrfs_wait_ordered_range), then deletes the
     * file extent items beyond it and cuts the one holding it (btrfs_truncate_inode_items), each dropped data extent
     * losing its reference. A truncate to 0 makes the next close start writeback of what was written since
     * (BTRFS_INODE_FLUSH_ON_CLOSE). EINVAL on a handle not opened for writing (as ftruncate(2)); EROFS once the
     * filesystem was forced read-only; EBADF if closed. On a failure (EIO from writeback, an aborted transaction) the
     * size falls back to what the inode item says.
     *
     * @throws IllegalArgumentException if {@code length} is negative
     */
    public void truncate(long length) {
        requireLength(length);
        checkOpen();
        if (!mode.writes()) {
            throw new BtrfsException(Errno.EINVAL, "invalid argument: " + path + " is not open for writing (ftruncate)");
        }
        fs.handleTruncate(this, length);
    }

    static void requireLength(long length) {
        if (length < 0) {
            throw new IllegalArgumentException("length must not be negative: " + length);
        }
    }

    /**
     * fsync(2) — kernel: btrfs_sync_file(): writes the file's dirty pages with sync_writers raised (so
     * they are checksummed inline, not through btrfs_wq_submit_bio), waits for them and for the file's
     * ordered extents, then commits the transaction if the inode changed since the last commit (the tree
     * log is not modelled). A writeback error is thrown once (EIO, ENOSPC). Works on any handle and on a
     * read-only mount (nothing to write, nothing to commit).
     */
    public void fsync() {
        checkOpen();
        fs.handleFsync(this);
    }

    /**
     * sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE): starts writeback of the file's dirty pages
     * (WB_SYNC_NONE, through btrfs_wq_submit_bio) and returns without waiting; each written range is an
     * ordered extent in flight until its completion runs on an endio-write worker.
     */
    public void syncFileRange() {
        checkOpen();
        fs.handleSyncFileRange(this, null);
    }

    /**
     * Close with writeback in flight, so that the endio-write worker drops the last inode reference: the
     * mechanism behind "the last reference dropped from a worker" (patches 3/5 and 5/5). Appends one block
     * ({@value #CLOSE_FROM_WORKER_BYTES} bytes) to the file, starts its writeback (sync_file_range), and
     * closes this handle (and lets the file's dentry go, see below) after cow_file_range added the ordered
     * extent (which holds an inode reference) and before the data bio is submitted — one of the kernel's interleavings of a close racing a
     * sync_file_range or a flusher, forced here in one thread. The ordered extent's completion
     * (btrfs_finish_ordered_io on endio_write_workers: a transaction that inserts the file extent item)
     * then drops the last reference: btrfs_add_delayed_iput queues the inode for the cleaner, waking it
     * unless it is running. Returns once that has happened.
     *
     * <p>A cached dentry also holds the inode of a linked file, so in steady state the ordered extent's
     * completion would not drop the last reference; this call also prunes the file's dentry, as the
     * dcache shrinker does under memory pressure (remount and umount prune every dentry themselves). An
     * unlinked file has no dentry left: that is the kernel's situation as is.
     *
     * @throws BtrfsException EROFS on a read-only mount (the handle stays open), EBADF if closed or opened
     *         {@link OpenMode#READ_ONLY} (it writes)
     */
    public void closeFromWorker() {
        checkWritable();
        fs.handleWrite(this, new byte[CLOSE_FROM_WORKER_BYTES]);
        List<OrderedExtent> inFlight = fs.handleSyncFileRange(this, () -> {
            close();
            fs.ctx().dcache.drop(inode.root(), inode.ino()); // the shrinker prunes the file's dentry
        });
        for (OrderedExtent oe : inFlight) {
            oe.waitReleased();
        }
    }

    /** A closed descriptor: EBADF, as every syscall on it. */
    private void checkOpen() {
        if (closed.get()) {
            throw new BtrfsException(Errno.EBADF, "bad file descriptor: " + path + " is closed");
        }
    }

    /** write(2)'s test: an open descriptor with FMODE_WRITE, else EBADF. */
    private void checkWritable() {
        checkOpen();
        if (!mode.writes()) {
            throw new BtrfsException(Errno.EBADF, "bad file descriptor: " + path + " is not open for writing");
        }
    }

    /** close(2) of a closed descriptor: EBADF. */
    private void markClosed() {
        if (!closed.compareAndSet(false, true)) {
            throw new BtrfsException(Errno.EBADF, "bad file descriptor: " + path + " is already closed");
        }
    }

    public boolean isClosed() { return closed.get(); }
}
