package org.jbtrfs.fs;

import java.util.List;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.cleaner.Inodes;

/**
 * kernel: btrfs_destroy_all_delalloc_inodes() in fs/btrfs/disk-io.c — the last step of an abort's
 * btrfs_cleanup_transaction. The port keeps no delalloc_inodes list: an inode is on it while it has delalloc bytes,
 * unless this cleanup took it off and no delalloc was set since ({@link InodeData#onDelallocList}).
 */
final class DelallocInodes {
    private final FsContext ctx;

    DelallocInodes(FsContext ctx) { this.ctx = ctx; }

    /**
     * The roots' delalloc_inodes lists, as a splice would take them: the cached inodes with delalloc bytes, but those an
     * abort's cleanup took off.
     */
    static List<InodeData> list(Inodes inodes) {
        return all(inodes).stream().filter(InodeData::onDelallocList).toList();
    }

    /** Every cached inode with data (fs_info->delalloc_bytes counts theirs, on a list or not). */
    static List<InodeData> all(Inodes inodes) {
        return inodes.cachedInodes().stream()
            .map(Inode::mapping)
            .filter(InodeData.class::isInstance)
            .map(InodeData.class::cast)
            .toList();
    }

    /** kernel: percpu_counter_sum(&fs_info->delalloc_bytes) — every cached inode's delalloc bytes, on a list or not. */
    static long bytes(Inodes inodes) {
        long sum = 0;
        for (InodeData d : all(inodes)) {
            sum += d.delallocBytes();
        }
        return sum;
    }

    /**
     * kernel: btrfs_destroy_all_delalloc_inodes() → btrfs_destroy_delalloc_inodes() for every root — splice the list;
     * for each inode on it: take it off, igrab it (one being freed is skipped), invalidate_inode_pages2 — lock_page on
     * every page (an async chunk's pages, a writeback's pages before their ordered extent: the lock is held until they
     * are under writeback) and wait_on_page_writeback; dirty pages are not dropped (btrfs has no launder_page, so
     * invalidate_complete_page2 fails on them) — and iput it. Inodes that left the list before the splice, with their
     * bios still in flight, are not waited for here.
     */
    void destroyAll() {
        Inodes inodes = ctx.cleaner.inodes();
        for (InodeData d : list(inodes)) {
            d.takeOffDelallocList();
            Inode in = d.inode;
            if (!inodes.igrab(in)) {
                continue;
            }
            try {
                d.waitLockedAndWriteback();
            } finally {
                inodes.iput(in);
            }
        }
    }
}
