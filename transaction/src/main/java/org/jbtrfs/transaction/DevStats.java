package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.LogLevel;
import org.jbtrfs.core.disk.DevStatsItem;
import org.jbtrfs.core.disk.DevReplaceItem;
import org.jbtrfs.core.kernel.Kernel;

/**
 * The device statistics of fs/btrfs/volumes.c (v5.11): each btrfs_device's dev_stat_values, dev_stats_ccnt (changes
 * not yet written) and dev_stats_valid. The btrfs_device lives in the module's list of scanned filesystems (fs_uuids)
 * for as long as the module is loaded — across mounts — so its counters do too: a mount reads them from the device
 * tree (btrfs_init_dev_stats, printing non-zero ones), every commit after a change writes them back
 * (btrfs_run_dev_stats in commit_cowonly_roots), and a counter incremented before a device's first mount initialised it
 * is counted but not printed, then replaced by what the disk holds. A new filesystem (another fsid) is another
 * btrfs_device; a replace's target is a new one (btrfs_alloc_device) that becomes devid 1 when the replace finishes.
 */
public final class DevStats {
    /** The port's debug line of the counters a mount's btrfs_init_dev_stats loaded: this, the device, the five values. */
    public static final String LOADED = "btrfs_init_dev_stats: loaded bdev ";

    /** One btrfs_device's counters; its monitor guards them. */
    static final class Device {
        final int[] values = new int[DevStatsItem.VALUES];
        int ccnt;
        boolean valid;
    }

    /** fs_uuids: per fsid, its devices' counters (the device is the block device it was scanned on). */
    private final Map<String, Map<BlockDevice, Device>> byFsid = new java.util.HashMap<>();

    /** Per block device's name, its btrfs_device used last (its latest filesystem's). */
    private final Map<String, Device> latest = new java.util.HashMap<>();

    private DevStats() { }

    /**
     * Per block device's name, the counters of its latest filesystem's btrfs_device — what its next
     * btrfs_dev_stat_print_on_error line counts from (for a reader of the log that needs the increments).
     */
    public Map<String, int[]> latestByDevice() {
        Map<String, Device> copy;
        synchronized (this) {
            copy = Map.copyOf(latest);
        }
        Map<String, int[]> out = new java.util.HashMap<>();
        copy.forEach((name, d) -> {
            synchronized (d) {
                out.put(name, d.values.clone());
            }
        });
        return out;
    }

    /** The module's device statistics. */
    public static DevStats of(Kernel kernel) { return kernel.global(DevStats.class, DevStats::new); }

    /** The btrfs_device of filesystem {@code fsid} on {@code dev}, created (zeroed, not yet valid) as a scan would. */
    synchronized Device device(byte[] fsid, BlockDevice dev) {
        Device d = byFsid.computeIfAbsent(HexFormat.of().formatHex(fsid), k -> new IdentityHashMap<>())
            .computeIfAbsent(dev, x -> new Device());
        latest.put(dev.name(), d);
        return d;
    }

    /**
     * btrfs_init_dev_replace_tgtdev's device: a new btrfs_device for a replace's target (btrfs_alloc_device, counters
     * 0) with dev_stats_valid set.
     */
    public synchronized void newTarget(byte[] fsid, BlockDevice target) {
        Device d = new Device();
        d.valid = true;
        byFsid.computeIfAbsent(HexFormat.of().formatHex(fsid), k -> new IdentityHashMap<>()).put(target, d);
        latest.put(target.name(), d);
    }

    /**
     * kernel: btrfs_dev_stat_inc_and_print() — the counter and dev_stats_ccnt incremented, then, once the device's
     * statistics are valid, btrfs_dev_stat_print_on_error's line (btrfs_err_rl_in_rcu: rate limited in the kernel,
     * every line here).
     */
    void incAndPrint(byte[] fsid, BlockDevice dev, DevStat which, KernelLog log, String sbId) {
        Device d = device(fsid, dev);
        int[] v;
        synchronized (d) {
            d.values[which.ordinal()]++;
            d.ccnt++;
            if (!d.valid) {
                return;
            }
            v = d.values.clone();
        }
        log.btrfs(LogLevel.ERR, sbId, line(dev, v));
    }

    /** kernel: btrfs_dev_stat_read(). */
    int read(byte[] fsid, BlockDevice dev, DevStat which) {
        Device d = device(fsid, dev);
        synchronized (d) {
            return d.values[which.ordinal()];
        }
    }

    private static String line(BlockDevice dev, int[] v) {
        return "bdev " + dev.name() + " errs: wr " + v[DevStat.WRITE_ERRS.ordinal()] + ", rd " + v[DevStat.READ_ERRS.ordinal()]
            + ", flush " + v[DevStat.FLUSH_ERRS.ordinal()] + ", corrupt " + v[DevStat.CORRUPTION_ERRS.ordinal()] + ", gen "
            + v[DevStat.GENERATION_ERRS.ordinal()];
    }

    /**
     * kernel: btrfs_init_dev_stats() — open_ctree, after btrfs_recover_balance: under device_list_mutex each device's
     * item from the device tree (btrfs_device_init_dev_stats: none, all 0; a short one, its missing values 0), the
     * statistics valid from then on, and btrfs_dev_stat_print_on_load's line for a device with any error counted. The
     * filesystem's device here; a replace target the mount finds is read by {@link #initDevice} as
     * btrfs_init_dev_replace finds it (the kernel has it on the list already).
     */
    public static void initDevStats(FsInfo fs) {
        fs.deviceListMutex.lock();
        try {
            initDevice(fs, fs.device.source(), 1);
        } finally {
            fs.deviceListMutex.unlock();
        }
    }

    /** kernel: btrfs_device_init_dev_stats() for {@code dev} as devid {@code devid}; -errno of the search as the mount's. */
    public static void initDevice(FsInfo fs, BlockDevice dev, long devid) {
        byte[] item;
        try {
            item = Trees.lookup(fs, fs.devRoot(), DevStatsItem.key(devid));
        } catch (BtrfsException e) {
            fs.log().error(fs.sbId(), "failed to init dev_stats: " + e.errno().ret());
            throw e;
        }
        long[] v = item == null ? new long[DevStatsItem.VALUES] : DevStatsItem.decode(item).values();
        Device d = of(fs.kernel).device(fs.fsid(), dev);
        int[] now;
        synchronized (d) {
            for (int i = 0; i < DevStatsItem.VALUES; i++) {
                d.values[i] = (int) v[i]; // btrfs_dev_stat_set
            }
            d.valid = true;
            now = d.values.clone();
        }
        if (item != null && java.util.Arrays.stream(now).anyMatch(x -> x != 0)) {
            fs.log().btrfs(LogLevel.INFO, fs.sbId(), line(dev, now)); // btrfs_dev_stat_print_on_load
        }
        // not the kernel's: what the counters start from now, zeros too, for a reader of the log that needs each
        // later line's increment (the explorer's classifier)
        fs.log().log(LogLevel.DEBUG, org.jbtrfs.core.LogEntry.Kind.TEXT, LOADED + dev.name() + " wr " + now[0] + ", rd "
            + now[1] + ", flush " + now[2] + ", corrupt " + now[3] + ", gen " + now[4]);
    }

    /**
     * kernel: btrfs_run_dev_stats() — commit_cowonly_roots, before btrfs_run_dev_replace: under device_list_mutex, for
     * each device of the filesystem (the filesystem's, then a replace's target, devid 0) whose statistics are valid and
     * changed, update_dev_stat_item writes them to (0, PERSISTENT_ITEM, devid) — a shorter item deleted first — and the
     * changes written are taken off dev_stats_ccnt. Its result is the last device's (an earlier device's error is
     * overwritten by a later success, as in the kernel); an error fails the commit.
     */
    static void runDevStats(TransHandle h) {
        FsInfo fs = h.fsInfo;
        DevStats all = of(fs.kernel);
        BtrfsException ret = null;
        fs.deviceListMutex.lock();
        try {
            List<BlockDevice> devices = new ArrayList<>();
            devices.add(fs.device.source());
            BlockDevice target = fs.device.target();
            if (target != null) {
                devices.add(target);
            }
            for (BlockDevice dev : devices) {
                Device d = all.device(fs.fsid(), dev);
                int cnt;
                int[] values;
                synchronized (d) {
                    cnt = d.ccnt;
                    if (!d.valid || cnt == 0) {
                        continue;
                    }
                    values = d.values.clone(); // btrfs_dev_stat_read in update_dev_stat_item
                }
                long devid = dev == target ? DevReplaceItem.DEV_REPLACE_DEVID : 1;
                ret = updateDevStatItem(h, dev, devid, values);
                if (ret == null) {
                    synchronized (d) {
                        d.ccnt -= cnt;
                    }
                }
            }
        } finally {
            fs.deviceListMutex.unlock();
        }
        if (ret != null) {
            throw ret;
        }
    }

    /** kernel: update_dev_stat_item() — the error (warned as the kernel warns it), or null. */
    private static BtrfsException updateDevStatItem(TransHandle h, BlockDevice dev, long devid, int[] values) {
        FsInfo fs = h.fsInfo;
        Root devRoot = fs.devRoot();
        var key = DevStatsItem.key(devid);
        long[] v = new long[DevStatsItem.VALUES];
        for (int i = 0; i < v.length; i++) {
            v[i] = values[i];
        }
        byte[] item = new DevStatsItem(v).encode();
        byte[] old;
        try {
            old = Trees.lookup(fs, devRoot, key);
            if (old != null && old.length >= DevStatsItem.SIZE) {
                Trees.update(h, devRoot, key, item); // btrfs_search_slot with cow, then the values set in place
                return null;
            }
        } catch (BtrfsException e) {
            fs.log().warn(fs.sbId(), "error " + e.errno().ret() + " while searching for dev_stats item for device "
                + dev.name());
            return e;
        }
        if (old != null) {
            try {
                Trees.delete(h, devRoot, key); // "need to delete old one and insert a new one"
            } catch (BtrfsException e) {
                fs.log().warn(fs.sbId(), "delete too small dev_stats item for device " + dev.name() + " failed "
                    + e.errno().ret());
                return e;
            }
        }
        try {
            Trees.insert(h, devRoot, key, item);
        } catch (BtrfsException e) {
            fs.log().warn(fs.sbId(), "insert dev_stats item for device " + dev.name() + " failed " + e.errno().ret());
            return e;
        }
        return null;
    }

    /**
     * btrfs_dev_replace_finishing's atomic_inc of the target's dev_stats_ccnt: the next commit writes the target's
     * counters as devid 1's.
     */
    public static void markChanged(FsInfo fs, BlockDevice dev) {
        Device d = of(fs.kernel).device(fs.fsid(), dev);
        synchronized (d) {
            d.ccnt++;
        }
    }

    /** kernel: btrfs_close_one_device()'s atomic_set(&device->dev_stats_ccnt, 0), for each device of the filesystem. */
    public static void closeDevices(FsInfo fs) {
        DevStats all = of(fs.kernel);
        for (BlockDevice dev : fs.device.history()) {
            Device d = all.device(fs.fsid(), dev);
            synchronized (d) {
                d.ccnt = 0;
            }
        }
    }
}
