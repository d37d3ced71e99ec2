package org.jbtrfs.core.disk;

/**
 * struct btrfs_dev_replace_item, the device tree's record of a device replace, keyed (0, BTRFS_DEV_REPLACE_KEY, 0):
 * src_devid, cursor_left, cursor_right, cont_reading_from_srcdev_mode, replace_state, time_started, time_stopped,
 * num_write_errors, num_uncorrectable_read_errors — nine u64, 72 bytes. btrfs_run_dev_replace writes it in a commit
 * whenever the in-memory state changed (item_needs_writeback); btrfs_init_dev_replace reads it at mount, and a replace
 * that was STARTED or SUSPENDED there is resumed by the next read-write mount.
 */
public record DevReplaceItem(long srcDevid, long cursorLeft, long cursorRight, long contReadingFromSrcdevMode,
                             long replaceState, long timeStarted, long timeStopped, long numWriteErrors,
                             long numUncorrectableReadErrors) {
    public static final int SIZE = 9 * 8;
    /** The item's key in the device tree. */
    public static final Key KEY = new Key(0, ItemType.DEV_REPLACE_KEY, 0);
    /** BTRFS_DEV_REPLACE_DEVID: the devid of a replace target until the replace finishes. */
    public static final long DEV_REPLACE_DEVID = 0;

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        long[] v = {srcDevid, cursorLeft, cursorRight, contReadingFromSrcdevMode, replaceState, timeStarted, timeStopped,
            numWriteErrors, numUncorrectableReadErrors};
        for (int i = 0; i < v.length; i++) {
            Le.u64(b, i * 8, v[i]);
        }
        return b;
    }

    /** The item as stored; null when it has an unexpected size ("dev_replace entry found has unexpected size"). */
    public static DevReplaceItem decode(byte[] b) {
        if (b.length != SIZE) {
            return null;
        }
        return new DevReplaceItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24), Le.u64(b, 32), Le.u64(b, 40),
            Le.u64(b, 48), Le.u64(b, 56), Le.u64(b, 64));
    }
}
