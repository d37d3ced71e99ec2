package org.jbtrfs.core.disk;

/**
 * struct btrfs_balance_item, the root tree's record of a balance that has not ended, keyed (BTRFS_BALANCE_OBJECTID,
 * BTRFS_TEMPORARY_ITEM_KEY, 0): flags u64, then struct btrfs_disk_balance_args for data, metadata and system (136 bytes
 * each), then 4 unused u64 = 448 bytes. insert_balance_item writes it when a balance starts, del_balance_item removes
 * it when the balance ends or is cancelled; a paused balance keeps it, and the next read-write mount resumes it.
 */
public record BalanceItem(long flags, BalanceArgs data, BalanceArgs meta, BalanceArgs sys) {
    public static final int SIZE = 8 + 3 * BalanceArgs.SIZE + 32;
    /** The item's key. */
    public static final Key KEY = new Key(ItemType.BALANCE_OBJECTID, ItemType.TEMPORARY_ITEM, 0);

    public BalanceItem {
        if (data == null || meta == null || sys == null) {
            throw new IllegalArgumentException("balance args must not be null");
        }
    }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, flags);
        data.encode(b, 8);
        meta.encode(b, 8 + BalanceArgs.SIZE);
        sys.encode(b, 8 + 2 * BalanceArgs.SIZE);
        return b;
    }

    public static BalanceItem decode(byte[] b) {
        if (b.length < SIZE) {
            throw new IllegalArgumentException("balance item of " + b.length + " bytes, expected " + SIZE);
        }
        return new BalanceItem(Le.u64(b, 0), BalanceArgs.decode(b, 8), BalanceArgs.decode(b, 8 + BalanceArgs.SIZE),
            BalanceArgs.decode(b, 8 + 2 * BalanceArgs.SIZE));
    }
}
