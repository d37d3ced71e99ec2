package org.jbtrfs.transaction;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.Fault;
import org.jbtrfs.core.Faults;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.IoCounters;
import org.jbtrfs.core.kernel.Sched;

/**
 * The filesystem's device as btrfs_map_block maps a bio onto it (fs/btrfs/volumes.c, single profile, one device): reads
 * go to the device (mirror 1; in 5.11 a running replace's target is mirror 2, {@link #readMirror}); while a dev-replace
 * runs and has a target (btrfs_dev_replace_is_ongoing and tgtdev set), every write is duplicated to the target as well
 * (handle_ops_on_dev_replace — 5.11 does it for every write, the copy of what was there before is the replace's
 * scrub), the bio done when one of the two stripes failed. Read and write bios fail as the block layer's
 * fail_make_request fails them ({@code bio-read-eio}, {@code bio-write-eio}), each counted in its device's
 * statistics. Each bio counts itself in fs_info->bio_counter
 * (btrfs_bio_counter_inc_blocked), which the replace's end waits to drain before it swaps the target in
 * (btrfs_rm_dev_replace_blocked / _unblocked, BTRFS_FS_STATE_DEV_REPLACING). The name is the one the filesystem was
 * mounted through: the kernel's messages keep naming sb->s_id after a replace, too.
 */
public final class MappedDevice implements BlockDevice {
    private final String name;
    private final Sched sched;
    private final Faults faults;
    private final KernelLog log;
    /** The proposed DEV_REPLACE_SOURCE_WRITE_ERRORS (see the constructor). */
    private final boolean sourceErrorsFail;
    /** 5.11's extra mirror of a replace (see the constructor). */
    private final boolean extraMirror;
    /** Told of a write to the replace target that failed alone (the bio done without it). */
    private volatile Runnable onTargetWriteError = () -> { };
    /** The module's device statistics (each btrfs_device's, kept across mounts), and this filesystem's fsid in them. */
    private final DevStats devStats;
    private final byte[] fsid;
    /** fs_info->replace_wait, and the monitor guarding the fields below. */
    private final Object replaceWait = new Object();
    private BlockDevice device;
    private BlockDevice target;
    /** fs_info->bio_counter. */
    private int bioCounter;
    /** BTRFS_FS_STATE_DEV_REPLACING. */
    private boolean replacing;
    /** Every device the filesystem had since the mount, in order (for a reader of the disks after the umount). */
    private final java.util.Set<BlockDevice> history = new java.util.LinkedHashSet<>();

    /**
     * @param sourceErrorsFail the proposed DEV_REPLACE_SOURCE_WRITE_ERRORS: a failed write to a replace's source is the
     *                         bio's error, the target's stripe tolerated for its own failure only
     * @param extraMirror      the target counts as one more copy while a replace runs (5.11; the later upstream
     *                         DEV_REPLACE_EXTRA_MIRROR, v6.4, removes it)
     */
    MappedDevice(BlockDevice device, Sched sched, Faults faults, KernelLog log, boolean sourceErrorsFail, boolean extraMirror,
                 DevStats devStats, byte[] fsid) {
        this.device = device;
        this.devStats = devStats;
        this.fsid = fsid.clone();
        this.sourceErrorsFail = sourceErrorsFail;
        this.extraMirror = extraMirror;
        this.name = device.name();
        this.sched = sched;
        this.faults = faults;
        this.log = log;
        history.add(device);
    }

    /** Every device the filesystem had since the mount: the first, then each replace's target. */
    public java.util.List<BlockDevice> history() {
        synchronized (replaceWait) {
            return java.util.List.copyOf(history);
        }
    }

    @Override
    public String name() { return name; }

    /** The device the filesystem's blocks are read from (devid 1). */
    public BlockDevice source() {
        synchronized (replaceWait) {
            return device;
        }
    }

    /** The dev-replace target writes are duplicated to, or null. */
    public BlockDevice target() {
        synchronized (replaceWait) {
            return target;
        }
    }

    @Override
    public long size() { return source().size(); }

    @Override
    public IoCounters counters() { return source().counters(); }

    /** kernel: btrfs_bio_counter_inc_blocked() — wait while the replace's end swaps devices; the devices to use. */
    private BlockDevice[] incBlocked() {
        synchronized (replaceWait) {
            sched.waitUntil(replaceWait, "btrfs_bio_counter_inc_blocked", () -> !replacing);
            bioCounter++;
            return new BlockDevice[] {device, target};
        }
    }

    /** kernel: btrfs_bio_counter_dec() — wake the replace's end waiting for the bios to drain. */
    private void dec() {
        synchronized (replaceWait) {
            bioCounter--;
            replaceWait.notifyAll();
        }
    }

    @Override
    public void read(long offset, byte[] dst, int dstOff, int len) { readMirror(1, offset, dst, dstOff, len); }

    /**
     * The device as a port-debugging probe reads it (the stress runner's check after every commit): reads of the
     * filesystem's device as {@link #read} maps them, without the injected faults — not a bio of the kernel's.
     */
    public BlockDevice probeView() {
        MappedDevice self = this;
        return new BlockDevice() {
            @Override public String name() { return name; }
            @Override public long size() { return self.size(); }
            @Override public void read(long offset, byte[] dst, int dstOff, int len) {
                BlockDevice[] d = incBlocked();
                try {
                    d[0].read(offset, dst, dstOff, len);
                } finally {
                    dec();
                }
            }
            @Override public void write(long offset, byte[] src, int srcOff, int len) {
                throw new UnsupportedOperationException("the probe's view is read-only");
            }
            @Override public void flush() { }
            @Override public IoCounters counters() { return self.counters(); }
        };
    }

    /** One device's read bio; its error counted and printed as btrfs_end_bio does (a read error), then the bio's. */
    private void readOne(BlockDevice dev, long offset, byte[] dst, int dstOff, int len) {
        try {
            failIfReadInjected(offset);
            dev.read(offset, dst, dstOff, len);
        } catch (BtrfsException e) {
            devStatIncAndPrint(dev, DevStat.READ_ERRS);
            throw e;
        }
    }

    /** {@link Fault#BIO_READ_EIO}: the read bio fails as fail_make_request fails it, before it reaches the disk. */
    private void failIfReadInjected(long offset) {
        if (faults.shouldFail(Fault.BIO_READ_EIO, name)) {
            throw new BtrfsException(Errno.EIO, "read error on " + name + " at " + offset + " (injected)");
        }
    }

    @Override
    public void write(long offset, byte[] src, int srcOff, int len) {
        BlockDevice[] d = incBlocked();
        try {
            if (d[1] == null) {
                writeOne(d[0], offset, src, srcOff, len);
                return;
            }
            // "write to new disk, too": handle_ops_on_dev_replace adds the target's stripe and max_errors++, so one
            // failed stripe leaves the bio done (btrfs_end_bio: errors <= max_errors). A failed write to the target is
            // counted in its device statistics (and, proposed, in the replace's write errors); a failed write to the
            // source too, and its block is then read from the target's copy while the replace runs (btrfs_num_copies'
            // extra mirror, readMirror). Both failed: the bio's error
            BtrfsException source = null;
            try {
                writeOne(d[0], offset, src, srcOff, len);
            } catch (BtrfsException e) {
                if (sourceErrorsFail) {
                    throw e; // proposed: the target is no copy the filesystem keeps unless the replace finishes
                }
                source = e;
            }
            try {
                writeOne(d[1], offset, src, srcOff, len);
            } catch (BtrfsException e) {
                onTargetWriteError.run();
                if (source != null) {
                    throw source;
                }
            }
        } finally {
            dec();
        }
    }

    /**
     * kernel: btrfs_num_copies() for the single profile — one copy, and in 5.11 while a replace runs with a target
     * (btrfs_dev_replace_is_ongoing and tgtdev set) one more: the target (the later upstream DEV_REPLACE_EXTRA_MIRROR
     * removes it).
     */
    public int numCopies() {
        synchronized (replaceWait) {
            return extraMirror && target != null ? 2 : 1;
        }
    }

    /**
     * A read of mirror {@code mirror} (btrfs_map_block with a mirror_num): 1 the device; 2, while a replace runs, the
     * target at the same place (get_extra_mirror_from_replace: 5.11 does not test the replace's cursor, so a place the
     * copy has not reached reads whatever the target has there). Without a target any mirror reads the device
     * (mirror_num > num_stripes: mirror 0).
     */
    public void readMirror(int mirror, long offset, byte[] dst, int dstOff, int len) {
        BlockDevice[] d = incBlocked();
        try {
            readOne(mirror == 2 && d[1] != null ? d[1] : d[0], offset, dst, dstOff, len);
        } finally {
            dec();
        }
    }

    /**
     * A read bio scrub submits itself (btrfsic_submit_bio to the device btrfs_map_sblock chose, mirror {@code mirror}
     * as {@link #readMirror} maps it): the block layer's injected failure applies, but no btrfs_end_bio runs, so nothing
     * is counted in the device statistics — scrub_handle_errored_block counts what the scrub found, once per block
     * ({@link #scrubError}).
     */
    public void scrubRead(int mirror, long offset, byte[] dst, int dstOff, int len) {
        BlockDevice[] d = incBlocked();
        try {
            failIfReadInjected(offset);
            (mirror == 2 && d[1] != null ? d[1] : d[0]).read(offset, dst, dstOff, len);
        } finally {
            dec();
        }
    }

    /**
     * kernel: scrub_handle_errored_block()'s btrfs_dev_stat_inc_and_print(dev, …) — the error a scrub found in a block
     * of the device it reads (devid 1), counted and printed.
     */
    public void scrubError(DevStat which) {
        BlockDevice[] d = incBlocked();
        try {
            devStatIncAndPrint(d[0], which);
        } finally {
            dec();
        }
    }

    /**
     * kernel: repair_io_failure() for mirror 1 — the good copy read from another mirror written back to the device, a
     * REQ_SYNC write of its own: "read error corrected", or the write's error counted in the device statistics.
     * Whether the device took it. {@code ino} 0 for a tree block ({@code start} its bytenr), else the file's inode and
     * the offset in the file.
     */
    public boolean repairMirror(long offset, byte[] src, long ino, long start) {
        BlockDevice[] d = incBlocked();
        try {
            writeOne(d[0], offset, src, 0, src.length);
            log.btrfs(LogLevel.INFO, name, "read error corrected: ino " + ino + " off " + start + " (dev " + d[0].name()
                + " sector " + (offset >> 9) + ")");
            return true;
        } catch (BtrfsException e) {
            return false;
        } finally {
            dec();
        }
    }

    @Override
    public void flush() {
        BlockDevice[] d = incBlocked();
        try {
            flushOrThrow(d[0]);
            if (d[1] != null) {
                flushOrThrow(d[1]);
            }
        } finally {
            dec();
        }
    }

    /**
     * barrier_all_devices(): an empty flush to each device, then wait for each. False when the filesystem's own
     * device's flush failed (check_barrier_error: btrfs_check_rw_degradable counts the chunks' stripe devices, and a
     * replace target is none of them, so its failed flush is tolerated).
     */
    boolean barrierAllDevices() {
        BlockDevice[] d = incBlocked();
        try {
            boolean ok = flushOne(d[0]);
            if (d[1] != null) {
                flushOne(d[1]);
            }
            return ok;
        } finally {
            dec();
        }
    }

    private boolean flushOne(BlockDevice dev) {
        try {
            flushOrThrow(dev);
            return true;
        } catch (BtrfsException e) {
            return false;
        }
    }

    /**
     * write_dev_supers() and wait_dev_supers() for each device: {@code forDevice} to the device, {@code forTarget} (its
     * dev_item names devid 0) to a replace target, each a REQ_FUA write of its own. Returns the devids whose primary
     * superblock write failed (btrfs_end_super_write's error, counted by wait_dev_supers).
     */
    java.util.List<Long> writeSupers(long offset, byte[] forDevice, byte[] forTarget) {
        BlockDevice[] d = incBlocked();
        try {
            java.util.List<Long> failed = new java.util.ArrayList<>();
            if (!writeSuperOne(d[0], offset, forDevice)) {
                failed.add(1L);
            }
            if (d[1] != null && forTarget != null && !writeSuperOne(d[1], offset, forTarget)) { // null: not the target's
                failed.add(0L);
            }
            return failed;
        } finally {
            dec();
        }
    }

    /**
     * write_dev_supers() and wait_dev_supers() for a replace's target alone (the proposed fix of
     * DEV_REPLACE_SCRATCH_BEFORE_COMMIT, before the replace is STARTED and the target mapped): whether it took the
     * superblock.
     */
    boolean writeTargetSuper(BlockDevice target, long offset, byte[] forTarget) {
        return writeSuperOne(target, offset, forTarget); // not mapped yet: no bio of the filesystem's goes to it
    }

    private boolean writeSuperOne(BlockDevice dev, long offset, byte[] b) {
        try {
            writeOne(dev, offset, b, 0, b.length);
            dev.flush(); // REQ_FUA
            return true;
        } catch (BtrfsException e) {
            log.btrfs(LogLevel.WARNING, name, "lost page write due to IO error on " + dev.name() + " (-5)"); // btrfs_end_super_write
            return false;
        }
    }

    /**
     * The replace's copy writes its blocks to the target (scrub_write_page_to_dev_replace, scrub_wr_submit): a bio scrub
     * submits itself (btrfsic_submit_bio), so an injected failure is the caller's to count in the replace's write errors
     * (scrub_wr_bio_end_io_worker) and none goes to the device statistics.
     */
    public void writeTarget(long offset, byte[] src, int srcOff, int len) {
        BlockDevice[] d = incBlocked();
        try {
            if (d[1] != null) {
                failIfInjected("write", offset);
                d[1].write(offset, src, srcOff, len);
            }
        } finally {
            dec();
        }
    }

    /** One device's part of a write bio; its error counted and printed as btrfs_end_bio does, then the bio's. */
    private void writeOne(BlockDevice dev, long offset, byte[] src, int srcOff, int len) {
        try {
            failIfInjected("write", offset);
            dev.write(offset, src, srcOff, len);
        } catch (BtrfsException e) {
            devStatIncAndPrint(dev, DevStat.WRITE_ERRS);
            throw e;
        }
    }

    /** One device's flush; its error counted and printed (barrier_all_devices, btrfs_end_bio), then the caller's. */
    private void flushOrThrow(BlockDevice dev) {
        try {
            failIfInjected("flush", -1);
            dev.flush();
        } catch (BtrfsException e) {
            devStatIncAndPrint(dev, DevStat.FLUSH_ERRS);
            throw e;
        }
    }

    /** kernel: btrfs_dev_stat_inc_and_print() for {@code dev} ({@link DevStats}). */
    private void devStatIncAndPrint(BlockDevice dev, DevStat which) {
        devStats.incAndPrint(fsid, dev, which, log, name);
    }

    /** kernel: btrfs_dev_stat_read() — devid 1's counter {@code which} (BTRFS_IOC_GET_DEV_STATS of the device read). */
    public int devStat(DevStat which) {
        return devStats.read(fsid, source(), which);
    }

    /**
     * check_data_csum's btrfs_dev_stat_inc_and_print(BTRFS_DEV_STAT_CORRUPTION_ERRS) for a read of mirror {@code mirror}
     * whose data did not match its checksum: counted on the device that mirror read.
     */
    public void corruptionError(int mirror) {
        BlockDevice[] d = incBlocked();
        try {
            devStatIncAndPrint(mirror == 2 && d[1] != null ? d[1] : d[0], DevStat.CORRUPTION_ERRS);
        } finally {
            dec();
        }
    }

    /**
     * {@link Fault#BIO_WRITE_EIO}: the bio fails as fail_make_request fails it, before it reaches the disk.
     */
    private void failIfInjected(String what, long offset) {
        if (faults.shouldFail(Fault.BIO_WRITE_EIO, name)) {
            throw new BtrfsException(Errno.EIO, what + " error on " + name + (offset >= 0 ? " at " + offset : "")
                + " (injected)");
        }
    }

    /** {@code r} runs when a write to the replace target fails alone (see {@link #write}). */
    void onTargetWriteError(Runnable r) { onTargetWriteError = r; }

    /** A replace starts (or is found at mount) with this target: writes are duplicated to it from now on. */
    public void setTarget(BlockDevice t) {
        synchronized (replaceWait) {
            target = t;
            if (t != null) {
                history.add(t);
            }
        }
    }

    /**
     * btrfs_rm_dev_replace_blocked(): set DEV_REPLACING and wait until no bio is in flight; then {@code swap} runs —
     * the target replacing the device ({@code true}) or being dropped — and btrfs_rm_dev_replace_unblocked() lets new
     * bios in. Returns the device that is no longer the filesystem's (the old source, or the dropped target).
     */
    public BlockDevice removeBlocked(boolean swap) { return removeBlocked(swap, () -> true); }

    /**
     * {@link #removeBlocked(boolean)} whose swap is decided once the bios have drained: {@code stillSwap} false drops the
     * target instead (the proposed DEV_REPLACE_TARGET_WRITE_ERRORS: a write to the target failed in a bio that was
     * still in flight). The caller tells which happened by the device returned.
     */
    public BlockDevice removeBlocked(boolean swap, java.util.function.BooleanSupplier stillSwap) {
        synchronized (replaceWait) {
            replacing = true;
            try {
                sched.waitUntil(replaceWait, "btrfs_rm_dev_replace_blocked", () -> bioCounter == 0);
                BlockDevice gone;
                if (swap && stillSwap.getAsBoolean()) {
                    gone = device;
                    device = target;
                } else {
                    gone = target;
                }
                target = null;
                return gone;
            } finally {
                replacing = false;
                replaceWait.notifyAll();
            }
        }
    }
}
