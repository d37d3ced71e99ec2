package org.jbtrfs.transaction;

import java.util.Arrays;
import java.util.List;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.Le;
import org.jbtrfs.transaction.ctree.ExtentBuffer;

/**
 * The checksum tree's items, fs/btrfs/file-item.c (v5.11): one crc32c (4 bytes) per 4 KiB sector of data, in items
 * keyed (EXTENT_CSUM_OBJECTID, EXTENT_CSUM, logical address of the first sector). An item covers a run of consecutive
 * sectors and may span several data extents; it grows by extension when the next extent's sums follow it, and is
 * truncated, chopped at its front or split when an extent inside it is freed.
 *
 * <p>The port works at item level, under the root's tree lock held across each whole operation (the kernel holds the
 * leaf's write lock from its search to its modification): an extension or truncation is {@link Trees#update}, which
 * makes room the way the port's ctree does — the kernel extends only as far as the leaf's free space allows and
 * inserts the rest as a new item; a front chop (truncate_one_csum's memmove and btrfs_set_item_key_safe) and a split
 * (btrfs_split_item) are a delete and inserts of the same sums under the new keys.
 */
public final class Csums {
    /** The sector size the sums cover. */
    public static final int SECTOR = 4096;
    /** btrfs_super_csum_size for crc32c. */
    public static final int CSUM_SIZE = 4;
    /** MAX_CSUM_ITEMS(fs_info, csum_size): the most sums one item holds. */
    static final int MAX_CSUM_ITEMS = (ExtentBuffer.LEAF_DATA_SIZE - 2 * ExtentBuffer.ITEM_SIZE) / CSUM_SIZE - 1;
    /** A sector without a sum, in what {@link #lookup} returns. */
    public static final long MISSING = -1L;

    private Csums() { }

    private static Key key(long bytenr) { return new Key(ItemType.EXTENT_CSUM_OBJECTID, ItemType.EXTENT_CSUM, bytenr); }

    private static boolean isCsum(Key k) {
        return k.objectid() == ItemType.EXTENT_CSUM_OBJECTID && k.type() == ItemType.EXTENT_CSUM;
    }

    private static int count(byte[] item) { return item.length / CSUM_SIZE; }

    /**
     * kernel: btrfs_csum_file_blocks() in fs/btrfs/file-item.c, from add_pending_csums in btrfs_finish_ordered_io — the
     * sums of the sectors from {@code bytenr} on, in the running transaction: overwritten where an item already covers a
     * sector (btrfs_lookup_csum found it), appended to an item that ends at the first sector (-EFBIG: the item is
     * extended, up to MAX_CSUM_ITEMS), else a new item up to the next one's start.
     */
    public static void insert(TransHandle h, long bytenr, int[] sums) {
        Root root = h.fsInfo.csumRoot();
        root.treeLock.lock();
        try {
            int done = 0;
            while (done < sums.length) {
                long cur = bytenr + (long) done * SECTOR;
                TreeItem prev = itemAtOrBefore(h.fsInfo, root, cur);
                int n;
                if (prev != null && cur < end(prev)) {
                    // an item covers cur: write the sums in place
                    byte[] data = prev.data().clone();
                    int at = (int) ((cur - prev.key().offset()) / SECTOR);
                    n = Math.min(sums.length - done, count(data) - at);
                    put(data, at, sums, done, n);
                    Trees.update(h, root, prev.key(), data);
                } else if (prev != null && cur == end(prev) && count(prev.data()) < MAX_CSUM_ITEMS) {
                    // -EFBIG: the item ends where we start; extend it as far as the sums and MAX_CSUM_ITEMS allow (and
                    // the next item: none starts inside a new extent's range, but the items must never overlap)
                    int have = count(prev.data());
                    n = (int) Math.min(Math.min(sums.length - done, MAX_CSUM_ITEMS - have), roomBefore(h.fsInfo, root, cur));
                    byte[] data = Arrays.copyOf(prev.data(), (have + n) * CSUM_SIZE);
                    put(data, have, sums, done, n);
                    Trees.update(h, root, prev.key(), data);
                } else {
                    // insert: as many sums as fit before the next item (found_next) and in one item
                    n = (int) Math.max(1, Math.min(Math.min(sums.length - done, roomBefore(h.fsInfo, root, cur)), MAX_CSUM_ITEMS));
                    byte[] data = new byte[n * CSUM_SIZE];
                    put(data, 0, sums, done, n);
                    Trees.insert(h, root, key(cur), data);
                }
                done += n;
            }
        } finally {
            root.treeLock.unlock();
        }
    }

    /**
     * kernel: btrfs_del_csums() in fs/btrfs/file-item.c, from __btrfs_free_extent (and cleanup_ref_head) when a data
     * extent's last reference goes — the sums of [bytenr, bytenr + len) leave the tree: an item inside the range is
     * deleted, one that sticks out at its end is truncated, one that sticks out at its front loses its first sums and
     * moves its key, one that sticks out at both ends is split.
     */
    public static void delete(TransHandle h, long bytenr, long len) {
        Root root = h.fsInfo.csumRoot();
        long end = bytenr + len;
        root.treeLock.lock();
        try {
            List<TreeItem> items = Trees.rangeFromPrevious(h.fsInfo, root, key(bytenr), key(end - 1));
            for (TreeItem it : items) {
                if (!isCsum(it.key())) {
                    continue;
                }
                long start = it.key().offset();
                long itemEnd = end(it);
                if (itemEnd <= bytenr || start >= end) {
                    continue;
                }
                byte[] data = it.data();
                if (start < bytenr) {
                    // keep the sums before the range (truncate_one_csum from the end)
                    Trees.update(h, root, it.key(), Arrays.copyOf(data, (int) ((bytenr - start) / SECTOR) * CSUM_SIZE));
                } else {
                    Trees.delete(h, root, it.key());
                }
                if (itemEnd > end) {
                    // the sums after the range, under a key at its end (the front chop; the split's second half)
                    int from = (int) ((end - start) / SECTOR) * CSUM_SIZE;
                    Trees.insert(h, root, key(end), Arrays.copyOfRange(data, from, data.length));
                }
            }
        } finally {
            root.treeLock.unlock();
        }
    }

    /**
     * kernel: btrfs_lookup_bio_sums() → search_csum_tree() in fs/btrfs/file-item.c — the sums of {@code sectors}
     * sectors from {@code bytenr} in the live csum tree, {@link #MISSING} where no item has one ("csum hole found").
     */
    public static long[] lookup(FsInfo fs, long bytenr, int sectors) { return lookup(fs, bytenr, sectors, false); }

    /**
     * The same in the csum tree's commit root (btrfs_lookup_csums_range with search_commit_root, as scrub_stripe reads
     * them), under commit_root_sem.
     */
    public static long[] lookupCommitted(FsInfo fs, long bytenr, int sectors) { return lookup(fs, bytenr, sectors, true); }

    private static long[] lookup(FsInfo fs, long bytenr, int sectors, boolean commitRoot) {
        long[] out = new long[sectors];
        Arrays.fill(out, MISSING);
        Root root = fs.csumRoot();
        if (root == null || sectors == 0) {
            return out;
        }
        long end = bytenr + (long) sectors * SECTOR;
        List<TreeItem> items = commitRoot ? Trees.commitRootRangeFromPrevious(fs, root, key(bytenr), key(end - 1))
            : Trees.rangeFromPrevious(fs, root, key(bytenr), key(end - 1));
        for (TreeItem it : items) {
            if (!isCsum(it.key())) {
                continue;
            }
            long start = it.key().offset();
            for (int i = 0; i < count(it.data()); i++) {
                long s = start + (long) i * SECTOR;
                if (s >= bytenr && s < end) {
                    out[(int) ((s - bytenr) / SECTOR)] = Le.u32(it.data(), i * CSUM_SIZE) & 0xffffffffL;
                }
            }
        }
        return out;
    }

    /** The sums of a data buffer written from a sector boundary, its last sector zero-padded (the page tail). */
    public static int[] compute(org.jbtrfs.core.kernel.Crc32c crc, byte[] data) {
        byte[] sectors = sectorPadded(data);
        int[] sums = new int[sectors.length / SECTOR];
        for (int i = 0; i < sums.length; i++) {
            sums[i] = crc.compute(sectors, i * SECTOR, SECTOR);
        }
        return sums;
    }

    /** {@code data} zero-padded to whole sectors: what a data bio writes (the page's tail beyond the data is zero). */
    public static byte[] sectorPadded(byte[] data) {
        int padded = (data.length + SECTOR - 1) / SECTOR * SECTOR;
        return padded == data.length ? data : Arrays.copyOf(data, padded);
    }

    private static TreeItem itemAtOrBefore(FsInfo fs, Root root, long bytenr) {
        List<TreeItem> l = Trees.rangeFromPrevious(fs, root, key(bytenr), key(bytenr));
        for (int i = l.size() - 1; i >= 0; i--) {
            if (isCsum(l.get(i).key())) {
                return l.get(i);
            }
        }
        return null;
    }

    /** How many sectors from {@code cur} lie before the next item's start (found_next's next_offset). */
    private static long roomBefore(FsInfo fs, Root root, long cur) {
        TreeItem next = Trees.next(fs, root, key(cur + 1), key(-1L));
        return next == null || !isCsum(next.key()) ? Long.MAX_VALUE : (next.key().offset() - cur) / SECTOR;
    }

    private static long end(TreeItem it) { return it.key().offset() + (long) count(it.data()) * SECTOR; }

    private static void put(byte[] data, int at, int[] sums, int from, int n) {
        for (int i = 0; i < n; i++) {
            Le.u32(data, (at + i) * CSUM_SIZE, sums[from + i]);
        }
    }
}
