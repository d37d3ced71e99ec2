package org.jbtrfs.fs;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.IoCounters;

/**
 * A disk whose next write fails once {@link #failNext} is set (fail_make_request on one bio, the superblock's
 * included), or whose next write at the offset {@link #failNextAt} holds: the write does not reach the disk and throws
 * -EIO, as a bad sector gives it.
 */
final class OneBadWriteDisk implements BlockDevice {
    final AtomicBoolean failNext = new AtomicBoolean();
    /** The offset whose next write fails (once), or -1. */
    final java.util.concurrent.atomic.AtomicLong failNextAt = new java.util.concurrent.atomic.AtomicLong(-1);
    private final BlockDevice disk;

    OneBadWriteDisk(BlockDevice disk) { this.disk = disk; }

    @Override public String name() { return disk.name(); }
    @Override public long size() { return disk.size(); }
    @Override public void read(long offset, byte[] dst, int dstOff, int len) { disk.read(offset, dst, dstOff, len); }
    @Override public void write(long offset, byte[] src, int srcOff, int len) {
        if (failNext.getAndSet(false) || failNextAt.compareAndSet(offset, -1)) {
            throw new BtrfsException(Errno.EIO, "write error on " + disk.name());
        }
        disk.write(offset, src, srcOff, len);
    }
    @Override public void flush() { disk.flush(); }
    @Override public IoCounters counters() { return disk.counters(); }
}
