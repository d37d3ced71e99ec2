package org.jbtrfs.core.disk;

/**
 * struct btrfs_dev_stats_item: a device's persistent error counters in the device tree, keyed (BTRFS_DEV_STATS_OBJECTID
 * 0, BTRFS_PERSISTENT_ITEM_KEY, devid) — write, read, flush, corruption and generation errors, five u64
 * (BTRFS_DEV_STAT_VALUES_MAX). btrfs_run_dev_stats writes it in a commit after a counter changed; btrfs_init_dev_stats
 * reads it at mount (a shorter item's missing values are 0).
 */
public record DevStatsItem(long[] values) {
    /** BTRFS_DEV_STAT_VALUES_MAX. */
    public static final int VALUES = 5;
    public static final int SIZE = VALUES * 8;
    /** BTRFS_DEV_STATS_OBJECTID. */
    public static final long OBJECTID = 0;

    public DevStatsItem {
        if (values.length != VALUES) {
            throw new IllegalArgumentException("values: " + values.length + " counters, expected " + VALUES);
        }
        values = values.clone();
    }

    /** The item's key for device {@code devid}. */
    public static Key key(long devid) { return new Key(OBJECTID, ItemType.PERSISTENT_ITEM_KEY, devid); }

    @Override
    public long[] values() { return values.clone(); }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        for (int i = 0; i < VALUES; i++) {
            Le.u64(b, i * 8, values[i]);
        }
        return b;
    }

    /** btrfs_device_init_dev_stats' reading: each value the item is long enough to hold, the rest 0. */
    public static DevStatsItem decode(byte[] b) {
        long[] v = new long[VALUES];
        for (int i = 0; i < VALUES && b.length >= (i + 1) * 8; i++) {
            v[i] = Le.u64(b, i * 8);
        }
        return new DevStatsItem(v);
    }
}
