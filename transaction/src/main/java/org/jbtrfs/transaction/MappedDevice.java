package org.jbtrfs.transaction;

import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.IoCounters;
import org.jbtrfs.core.kernel.Sched;

/**
 * The filesystem's device as btrfs_map_block maps a bio onto it (fs/btrfs/volumes.c, single profile, one device): reads
 * go to the device; while a dev-replace runs and has a target (btrfs_dev_replace_is_ongoing and tgtdev set), every
 * write is duplicated to the target as well (handle_ops_on_dev_replace — 5.11 does it for every write, the copy of
 * what was there before is the replace's scrub). Each bio counts itself in fs_info->bio_counter
 * (btrfs_bio_counter_inc_blocked), which the replace's end waits to drain before it swaps the target in
 * (btrfs_rm_dev_replace_blocked / _unblocked, BTRFS_FS_STATE_DEV_REPLACING). The name is the one the filesystem was
 * mounted through: the kernel's messages keep naming sb->s_id after a replace, too.
 */
public final class MappedDevice implements BlockDevice {
    private final String name;
    private final Sched sched;
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

    MappedDevice(BlockDevice device, Sched sched) {
        this.device = device;
        this.name = device.name();
        this.sched = sched;
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
    public void read(long offset, byte[] dst, int dstOff, int len) {
        BlockDevice[] d = incBlocked();
        try {
            d[0].read(offset, dst, dstOff, len);
        } finally {
            dec();
        }
    }

    @Override
    public void write(long offset, byte[] src, int srcOff, int len) {
        BlockDevice[] d = incBlocked();
        try {
            d[0].write(offset, src, srcOff, len);
            if (d[1] != null) {
                d[1].write(offset, src, srcOff, len); // "write to new disk, too"
            }
        } finally {
            dec();
        }
    }

    @Override
    public void flush() {
        BlockDevice[] d = incBlocked();
        try {
            d[0].flush();
            if (d[1] != null) {
                d[1].flush();
            }
        } finally {
            dec();
        }
    }

    /**
     * write_all_supers() for the devices: {@code forDevice} to the device, {@code forTarget} (its dev_item names devid 0)
     * to a replace target, each flushed.
     */
    void writeSupers(long offset, byte[] forDevice, byte[] forTarget) {
        BlockDevice[] d = incBlocked();
        try {
            d[0].write(offset, forDevice, 0, forDevice.length);
            d[0].flush();
            if (d[1] != null) {
                d[1].write(offset, forTarget, 0, forTarget.length);
                d[1].flush();
            }
        } finally {
            dec();
        }
    }

    /** The replace target is written only by the replace's copy (scrub_write_page_to_dev_replace). */
    public void writeTarget(long offset, byte[] src, int srcOff, int len) {
        BlockDevice[] d = incBlocked();
        try {
            if (d[1] != null) {
                d[1].write(offset, src, srcOff, len);
            }
        } finally {
            dec();
        }
    }

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
    public BlockDevice removeBlocked(boolean swap) {
        synchronized (replaceWait) {
            replacing = true;
            try {
                sched.waitUntil(replaceWait, "btrfs_rm_dev_replace_blocked", () -> bioCounter == 0);
                BlockDevice gone;
                if (swap) {
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
