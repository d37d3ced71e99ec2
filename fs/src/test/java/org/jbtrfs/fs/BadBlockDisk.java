package org.jbtrfs.fs;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.IoCounters;
import org.jbtrfs.core.disk.SuperBlock;

/**
 * A disk with one bad tree block: while {@link #failing} is set, a read that covers {@code [bad, bad + nodesize)}
 * throws -EIO, as a bad sector gives it (dm-dust); the block's writes and every other read pass. With
 * {@link #holdFirstRead()} the first such read first waits for {@link #release} (a slow disk: the bio stays in flight
 * until the test lets it complete), so a test can put the completion where it wants it, not where a sleep lands it.
 */
final class BadBlockDisk implements BlockDevice {
    private final BlockDevice disk;
    volatile long bad = -1;
    final AtomicBoolean failing = new AtomicBoolean();
    /** Counted down when the held read arrives; zero when no read is to be held. */
    final CountDownLatch held = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    private volatile boolean holdFirst;

    BadBlockDisk(BlockDevice disk) { this.disk = disk; }

    /** The first failing read waits for {@link #release} before it fails. */
    BadBlockDisk holdFirstRead() {
        holdFirst = true;
        return this;
    }

    /** Reads of {@code bytenr}'s block fail from now on. */
    void fail(long bytenr) {
        bad = bytenr;
        failing.set(true);
    }

    @Override public String name() { return disk.name(); }
    @Override public long size() { return disk.size(); }
    @Override public void read(long offset, byte[] dst, int dstOff, int len) {
        long b = bad;
        if (b >= 0 && failing.get() && offset < b + SuperBlock.NODESIZE && b < offset + len) {
            if (holdFirst && held.getCount() > 0) {
                held.countDown();
                awaitRelease();
            }
            throw new BtrfsException(Errno.EIO, "read error on " + disk.name() + " at " + b);
        }
        disk.read(offset, dst, dstOff, len);
    }

    private void awaitRelease() {
        try {
            if (!release.await(Repro.WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("the held read of " + disk.name() + " was not released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override public void write(long offset, byte[] src, int srcOff, int len) { disk.write(offset, src, srcOff, len); }
    @Override public void flush() { disk.flush(); }
    @Override public IoCounters counters() { return disk.counters(); }
}
