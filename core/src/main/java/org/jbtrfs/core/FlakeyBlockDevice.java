package org.jbtrfs.core;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A block device wrapper in the spirit of device-mapper's dm-flakey target (drivers/md/dm-flakey.c),
 * the tool fstests uses to simulate a power failure: from the moment {@link #dropWrites()} is called
 * every write (and flush) completes successfully but never reaches the wrapped device
 * ({@code drop_writes}); after {@link #errorWrites()} every write and flush fails with EIO
 * ({@code error_writes}); {@link #allowWrites()} switches back to passing everything through (fstests'
 * {@code _load_flakey_table $FLAKEY_ALLOW_WRITES}). Reads always reach the wrapped device, so a
 * filesystem mounted on the wrapper keeps reading what was on disk at the "crash" plus nothing it
 * wrote since — exactly what the next mount after a power cut sees.
 *
 * <pre>{@code
 * BlockDevice disk = mod.createDevice("sdc", 256L << 20);
 * FlakeyBlockDevice flakey = mod.createFlakeyDevice("flakey-sdc", disk);
 * mod.mkfs(flakey);
 * Btrfs fs = mod.mount(flakey, "");
 * ...; fs.sync();
 * flakey.dropWrites();          // power cut: nothing from here on reaches sdc
 * fs.umount();                  // its final commit is lost
 * flakey.allowWrites();
 * Btrfs again = mod.mount(flakey, "ro");   // sees the state of the last sync
 * }</pre>
 *
 * <p>The mode is a volatile field: a write that is in flight while the mode changes either reaches the
 * wrapped device or not, as a bio in flight when dm-flakey's table is swapped. The wrapper never
 * closes the wrapped device (removing a dm table does not destroy the disk under it), and the wrapped
 * device must not be used directly while the wrapper is in use.
 */
public final class FlakeyBlockDevice implements BlockDevice {
    /** What happens to writes and flushes. */
    public enum Mode {
        /** Everything passes through (dm-flakey's up interval). */
        PASS,
        /** Writes and flushes succeed and are discarded (feature {@code drop_writes}). */
        DROP_WRITES,
        /** Writes and flushes fail with EIO (feature {@code error_writes}). */
        ERROR_WRITES
    }

    private final String name;
    private final BlockDevice backing;
    /** The wrapper whose mode this one follows (one power supply for both disks), or null: its own. */
    private final FlakeyBlockDevice samePower;
    private volatile Mode mode = Mode.PASS;
    private final AtomicLong reads = new AtomicLong(), bytesRead = new AtomicLong();
    private final AtomicLong writes = new AtomicLong(), bytesWritten = new AtomicLong(), flushes = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong(), failed = new AtomicLong();

    /**
     * Wraps {@code backing} under the name {@code name} (as dm names its target, e.g. "flakey-sdc");
     * starts in {@link Mode#PASS}.
     */
    public FlakeyBlockDevice(String name, BlockDevice backing) { this(name, backing, null); }

    /**
     * Wraps {@code backing} as {@link #FlakeyBlockDevice(String, BlockDevice)}, on the same power as {@code samePower}
     * (null: its own): one mode for both — a power cut of either cuts both at the same instant, as a machine's disks lose
     * power together (two tables switched one after the other would let the second disk take writes the first lost).
     */
    public FlakeyBlockDevice(String name, BlockDevice backing, FlakeyBlockDevice samePower) {
        this.samePower = samePower == null ? null : samePower.power();
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name must not be blank");
        }
        this.name = name;
        if (backing == null) {
            throw new IllegalArgumentException("backing must not be null");
        }
        this.backing = backing;
    }

    /** From now on writes and flushes succeed but are discarded (a power cut as the filesystem will see it at the next mount). */
    public void dropWrites() { power().mode = Mode.DROP_WRITES; }

    /** From now on writes and flushes fail with EIO. */
    public void errorWrites() { power().mode = Mode.ERROR_WRITES; }

    /** From now on writes and flushes reach the wrapped device again. */
    public void allowWrites() { power().mode = Mode.PASS; }

    public Mode mode() { return power().mode; }

    /** The wrapper holding the mode: this one, or the one it shares power with. */
    private FlakeyBlockDevice power() { return samePower == null ? this : samePower; }

    /** The wrapped device. */
    public BlockDevice backing() { return backing; }

    /** Writes (and flushes) discarded in {@link Mode#DROP_WRITES} so far. */
    public long droppedWrites() { return dropped.get(); }

    /** Writes (and flushes) failed with EIO in {@link Mode#ERROR_WRITES} so far. */
    public long failedWrites() { return failed.get(); }

    @Override public String name() { return name; }

    @Override public long size() { return backing.size(); }

    @Override public void read(long offset, byte[] dst, int dstOff, int len) {
        BlockDevice.checkRange(this, offset, dst, dstOff, len);
        backing.read(offset, dst, dstOff, len);
        reads.incrementAndGet();
        bytesRead.addAndGet(len);
    }

    @Override public void write(long offset, byte[] src, int srcOff, int len) {
        // bounds are checked in every mode: a dropped write beyond the end is still a caller bug
        BlockDevice.checkRange(this, offset, src, srcOff, len);
        switch (mode()) {
            case PASS -> backing.write(offset, src, srcOff, len);
            case DROP_WRITES -> dropped.incrementAndGet();
            case ERROR_WRITES -> {
                failed.incrementAndGet();
                throw new BtrfsException(Errno.EIO, "write error on " + name + " at " + offset + " (flakey: error_writes)");
            }
        }
        writes.incrementAndGet();
        bytesWritten.addAndGet(len);
    }

    @Override public void flush() {
        switch (mode()) {
            case PASS -> backing.flush();
            case DROP_WRITES -> dropped.incrementAndGet();
            case ERROR_WRITES -> {
                failed.incrementAndGet();
                throw new BtrfsException(Errno.EIO, "flush error on " + name + " (flakey: error_writes)");
            }
        }
        flushes.incrementAndGet();
    }

    /** What the filesystem issued to this device (dropped writes included, failed ones not). */
    @Override public LastWrite lastWrite(long offset) { return backing.lastWrite(offset); }

    @Override public IoCounters counters() {
        return new IoCounters(reads.get(), bytesRead.get(), writes.get(), bytesWritten.get(), flushes.get());
    }

    @Override public String toString() { return name + " (flakey over " + backing.name() + ", " + mode() + ")"; }
}
