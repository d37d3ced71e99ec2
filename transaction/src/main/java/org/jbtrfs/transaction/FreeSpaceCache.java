package org.jbtrfs.transaction;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.FreeSpaceHeader;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.Le;
import org.jbtrfs.transaction.space.BlockGroup;
import org.jbtrfs.transaction.space.BlockGroup.DiskCacheState;

/**
 * The v1 free space cache (space_cache / space_cache=v1), the items side of fs/btrfs/free-space-cache.c
 * and of cache_save_setup in block-group.c, as 5.11 has them.
 *
 * <p>Every block group of at least 100 MiB gets a cache inode in the root tree (an inode number from the
 * tree root's objectid counter, shared with subvolume ids), a free space header item
 * (BTRFS_FREE_SPACE_OBJECTID, 0, group start) pointing at it, and a preallocated data extent (16 pages per
 * 256 MiB of group, owned by the root tree) into which the commit writes the group's free extents. This
 * happens in the commit, for the block groups the transaction dirtied (btrfs_write_dirty_block_groups);
 * the super's cache_generation records the last commit that wrote caches.
 *
 * <p>What lives in memory stays with the layers that own it: the cache inode's in-memory reference held
 * by its block group (block_group->inode, "iref") is the group's {@code iref} flag here; the VFS inode with
 * its i_count, i_nlink, orphan item and delayed iput belongs to the cleaner (FreeSpaceInodes), which
 * removes the inode with its block group (btrfs_remove_free_space_inode).
 *
 * <p>Simplifications, on purpose: the cache pages are written straight to the preallocated extent inside the
 * commit (the kernel dirties the inode's pages and waits for their writeback, btrfs_wait_cache_io); the
 * entries are extents only (no bitmaps); the file extent item is a regular extent (the kernel's is
 * PREALLOC); btrfs_start_dirty_block_groups' early pass, before the commit's critical section, is folded
 * into btrfs_write_dirty_block_groups because the port runs delayed refs only there.
 */
public final class FreeSpaceCache {
    /** cache_save_setup(): "If this block group is smaller than 100 megs don't bother caching". */
    public static final long MIN_CACHED_GROUP = 100L << 20;
    static final int PAGE = 4096;
    /** sizeof(struct btrfs_free_space_entry): offset u64, bytes u64, type u8. */
    static final int ENTRY = 17;
    static final int FREE_SPACE_EXTENT = 1;

    private FreeSpaceCache() { }

    /** The cache inode's key in the root tree, or null when the group has no free space header. */
    public static Key lookupInodeKey(FsInfo fs, BlockGroup bg) {
        byte[] h = Trees.lookup(fs, fs.treeRoot(), FreeSpaceHeader.key(bg.start()));
        return h == null ? null : FreeSpaceHeader.decode(h).location();
    }

    /**
     * kernel: cache_save_setup() in fs/btrfs/block-group.c (5.11) — for a dirty block group: make sure it
     * has a cache inode (create_free_space_inode), invalidate the cache (inode generation 0), truncate last
     * transaction's cache file and preallocate a new one; DC_SETUP on success.
     */
    static void cacheSaveSetup(TransHandle h, BlockGroup bg) {
        FsInfo fs = h.fsInfo;
        // 5.11 ("skip space_cache v1 setup when not using it"): no cache inodes without space_cache=v1
        if (!fs.mountOpt.test(MountOpt.SPACE_CACHE)) {
            return;
        }
        if (bg.length() < MIN_CACHED_GROUP) {
            fs.space.setDiskCacheState(bg, DiskCacheState.WRITTEN);
            return;
        }
        if (h.transaction.aborted) {
            return;
        }
        DiskCacheState dcs = DiskCacheState.ERROR;
        Key location = lookupInodeKey(fs, bg);
        if (location == null) {
            if (fs.space.isReadOnly(bg)) {
                fs.space.setDiskCacheState(bg, dcs);
                return;
            }
            location = createFreeSpaceInode(h, bg);
        }
        fs.space.grabCacheInodeRef(bg); // lookup_free_space_inode: the group keeps a reference
        InodeItem inode = inodeItem(fs, location);
        // "We want to set the generation to 0, that way if anything goes wrong from here on out we know not
        // to trust this cache when we load up next time."
        inode = updateInode(h, location, inode, 0, inode.size(), inode.nbytes());
        try {
            if (fs.space.cacheGeneration(bg) == h.transid() && inode.size() > 0) {
                dcs = DiskCacheState.SETUP; // already set up in this transaction
                return;
            }
            if (inode.size() > 0) {
                inode = truncateFreeSpaceCache(h, bg, location, inode);
            }
            if (h.transaction.cacheEnospc) {
                return; // "We hit an ENOSPC when setting up the cache in this transaction"
            }
            // 16 pages per 256 MiB of block group, at least 16
            long numPages = Math.max(1, bg.length() / (256L << 20)) * 16 * PAGE;
            long bytenr;
            try {
                bytenr = Extents.allocDataExtent(h, ItemType.ROOT_TREE_OBJECTID, location.objectid(), 0, numPages);
            } catch (BtrfsException e) {
                if (e.errno() != Errno.ENOSPC) {
                    throw e;
                }
                h.transaction.cacheEnospc = true; // BTRFS_TRANS_CACHE_ENOSPC
                return;
            }
            Trees.insert(h, fs.treeRoot(), new Key(location.objectid(), ItemType.EXTENT_DATA, 0),
                new FileExtentItem(bytenr, numPages, numPages, h.transid()).encode());
            updateInode(h, location, inode, 0, numPages, numPages);
            dcs = DiskCacheState.SETUP;
        } finally {
            if (dcs == DiskCacheState.SETUP) {
                fs.space.setCacheGeneration(bg, h.transid());
            }
            fs.space.setDiskCacheState(bg, dcs);
        }
    }

    /**
     * kernel: create_free_space_inode() / __create_free_space_inode() — an inode item (S_IFREG 0600, nlink 1,
     * NODATASUM|NODATACOW|PREALLOC|NOCOMPRESS in the kernel) with the next free objectid of the root tree,
     * and the free space header pointing at it.
     */
    static Key createFreeSpaceInode(TransHandle h, BlockGroup bg) {
        FsInfo fs = h.fsInfo;
        long ino;
        synchronized (fs.treeRoot().highestObjectid) {
            ino = FsRoots.getFreeObjectid(fs.treeRoot());
        }
        Key location = new Key(ino, ItemType.INODE_ITEM, 0);
        Trees.insert(h, fs.treeRoot(), location, new InodeItem(h.transid(), h.transid(), 0, 0, 1, InodeItem.S_IFREG | 0600).encode());
        Trees.insert(h, fs.treeRoot(), FreeSpaceHeader.key(bg.start()), new FreeSpaceHeader(location, 0, 0, 0).encode());
        return location;
    }

    /**
     * kernel: btrfs_truncate_free_space_cache() — the group's cache is cleared (DC_CLEAR), the file extents
     * go (their data is freed at commit), i_size 0.
     */
    static InodeItem truncateFreeSpaceCache(TransHandle h, BlockGroup bg, Key location, InodeItem inode) {
        FsInfo fs = h.fsInfo;
        fs.space.setDiskCacheState(bg, DiskCacheState.CLEAR);
        for (TreeItem it : Trees.range(fs, fs.treeRoot(), new Key(location.objectid(), ItemType.EXTENT_DATA, 0),
            new Key(location.objectid(), ItemType.EXTENT_DATA, -1L))) {
            FileExtentItem fe = FileExtentItem.decode(it.data());
            Trees.delete(h, fs.treeRoot(), it.key());
            Extents.freeDataExtent(h, ItemType.ROOT_TREE_OBJECTID, fe.diskBytenr(), fe.diskNumBytes());
        }
        return updateInode(h, location, inode, inode.generation(), 0, 0);
    }

    /**
     * kernel: btrfs_write_out_cache() / __btrfs_write_out_cache() and, at once, __btrfs_wait_cache_io() /
     * update_cache_item() — for a group in DC_SETUP: its free extents and the extents this transaction
     * pinned (free once it commits) go into the cache file, page 0 starting with one crc32c per page and the
     * generation; then the header records entries and generation and the inode's generation matches it.
     */
    static void writeOutCache(TransHandle h, BlockGroup bg) {
        FsInfo fs = h.fsInfo;
        if (fs.space.diskCacheState(bg).compareTo(DiskCacheState.SETUP) < 0) {
            return;
        }
        Key location = lookupInodeKey(fs, bg);
        if (location == null) {
            return;
        }
        InodeItem inode = inodeItem(fs, location);
        FileExtentItem fe = firstExtent(fs, location.objectid());
        if (inode.size() == 0 || fe == null) {
            cacheWriteFailed(h, bg, location, inode);
            return;
        }
        List<long[]> entries = new ArrayList<>(fs.space.freeRanges(bg));
        synchronized (h.transaction) {
            for (Map.Entry<Long, Long> p : h.transaction.pinned.entrySet()) {
                if (p.getKey() >= bg.start() && p.getKey() < bg.start() + bg.length()) {
                    entries.add(new long[] {p.getKey(), p.getValue()}); // write_pinned_extent_entries
                }
            }
        }
        byte[] file = encodePages((int) inode.size(), h.transid(), entries, fs.kernel.crc32c());
        if (file == null) {
            cacheWriteFailed(h, bg, location, inode); // -ENOSPC: more entries than pages
            return;
        }
        try {
            fs.device.write(fe.diskBytenr(), file, 0, file.length);
        } catch (BtrfsException e) {
            // __btrfs_wait_cache_io: flush_dirty_cache's -EIO skips update_cache_item ("failed to write free space cache
            // for block group N error -5" is btrfs_debug) — the cache is invalid, the commit goes on
            cacheWriteFailed(h, bg, location, inode);
            return;
        }
        // update_cache_item()
        FreeSpaceHeader hdr = FreeSpaceHeader.decode(Trees.lookup(fs, fs.treeRoot(), FreeSpaceHeader.key(bg.start())));
        Trees.update(h, fs.treeRoot(), FreeSpaceHeader.key(bg.start()), hdr.withWritten(h.transid(), entries.size(), 0).encode());
        updateInode(h, location, inode, h.transid(), inode.size(), inode.nbytes());
        fs.space.setDiskCacheState(bg, DiskCacheState.WRITTEN);
    }

    /** The out: label of __btrfs_write_out_cache with an error: the inode's generation 0, DC_ERROR. */
    private static void cacheWriteFailed(TransHandle h, BlockGroup bg, Key location, InodeItem inode) {
        updateInode(h, location, inode, 0, inode.size(), inode.nbytes());
        h.fsInfo.space.setDiskCacheState(bg, DiskCacheState.ERROR);
    }

    /**
     * The cache file: page 0 holds a u32 crc32c per page, then the u64 generation, then entries (offset,
     * bytes, type) continue page after page; null if they do not fit (io_ctl_add_entry's -ENOSPC).
     */
    static byte[] encodePages(int size, long generation, List<long[]> entries, org.jbtrfs.core.kernel.Crc32c crc) {
        int numPages = size / PAGE;
        if (numPages * 4 + 8 > PAGE) {
            return null; // io_ctl_init: crcs and generation must fit in the first page
        }
        byte[] b = new byte[size];
        int pos = numPages * 4;
        Le.u64(b, pos, generation);
        pos += 8;
        for (long[] e : entries) {
            if (PAGE - pos % PAGE < ENTRY) {
                pos += PAGE - pos % PAGE; // map the next page
            }
            if (pos + ENTRY > size) {
                return null;
            }
            Le.u64(b, pos, e[0]);
            Le.u64(b, pos + 8, e[1]);
            b[pos + 16] = FREE_SPACE_EXTENT;
            pos += ENTRY;
        }
        for (int i = 0; i < numPages; i++) {
            int off = i == 0 ? numPages * 4 : 0;
            Le.u32(b, i * 4, crc.compute(b, i * PAGE + off, PAGE - off));
        }
        return b;
    }

    /**
     * kernel: load_free_space_cache() / __load_free_space_cache() — at mount, for a group whose cache the
     * super's cache_generation says is current (DC_WRITTEN): check the inode and header generations, the page
     * checksums and the page's generation, read the entries and compare their total with the group's free
     * bytes. A cache that fails is cleared (DC_CLEAR) and rebuilt by the next commit that dirties the group.
     * The port then caches the group from the extent tree as it always does; the loaded entries are only
     * checked. Returns true when the cache was loaded and matched.
     */
    public static boolean loadFreeSpaceCache(FsInfo fs, BlockGroup bg) {
        if (fs.space.diskCacheState(bg) != DiskCacheState.WRITTEN) {
            return false;
        }
        byte[] hb = Trees.lookup(fs, fs.treeRoot(), FreeSpaceHeader.key(bg.start()));
        if (hb == null) {
            return false;
        }
        FreeSpaceHeader hdr = FreeSpaceHeader.decode(hb);
        byte[] ib = Trees.lookup(fs, fs.treeRoot(), hdr.location());
        if (ib == null) {
            return false; // lookup_free_space_inode failed: nothing loaded, nothing said
        }
        fs.space.grabCacheInodeRef(bg);
        InodeItem inode = InodeItem.decode(ib);
        if (inode.size() == 0) {
            return false; // "Nothing in the space cache, goodbye"
        }
        if (inode.generation() == 0) {
            fs.log().info(fs.sbId(), "the free space cache file (" + bg.start() + ") is invalid, skip it");
            return false;
        }
        if (inode.generation() != hdr.generation()) {
            fs.log().error(fs.sbId(), "free space inode generation (" + inode.generation()
                + ") did not match free space cache generation (" + hdr.generation() + ")");
            return false;
        }
        if (hdr.numEntries() == 0) {
            return false;
        }
        int ret = readEntries(fs, bg, hdr, inode);
        if (ret < 0) {
            // "This cache is bogus, make sure it gets cleared"
            fs.space.setDiskCacheState(bg, DiskCacheState.CLEAR);
            fs.log().warn(fs.sbId(), "failed to load free space cache for block group " + bg.start() + ", rebuilding it now");
            return false;
        }
        return true;
    }

    /** __load_free_space_cache's page walk and load_free_space_cache's free-space match: 1 ok, -1 bogus. */
    private static int readEntries(FsInfo fs, BlockGroup bg, FreeSpaceHeader hdr, InodeItem inode) {
        FileExtentItem fe = firstExtent(fs, hdr.location().objectid());
        if (fe == null) {
            return -1;
        }
        int size = (int) inode.size();
        int numPages = size / PAGE;
        byte[] b = new byte[size];
        try {
            fs.device.read(fe.diskBytenr(), b, 0, size);
        } catch (org.jbtrfs.core.BtrfsException e) {
            // io_ctl_prepare_pages: a page btrfs_readpage left not uptodate
            fs.log().error(fs.sbId(), "error reading free space cache");
            return -1;
        }
        for (int i = 0; i < numPages; i++) {
            int off = i == 0 ? numPages * 4 : 0;
            if (Le.u32(b, i * 4) != fs.kernel.crc32c().compute(b, i * PAGE + off, PAGE - off)) {
                fs.log().error(fs.sbId(), "csum mismatch on free space cache");
                return -1;
            }
        }
        int pos = numPages * 4;
        long gen = Le.u64(b, pos);
        if (gen != hdr.generation()) {
            fs.log().error(fs.sbId(), "space cache generation (" + gen + ") does not match inode (" + hdr.generation() + ")");
            return -1;
        }
        pos += 8;
        long free = 0;
        for (long n = 0; n < hdr.numEntries(); n++) {
            if (PAGE - pos % PAGE < ENTRY) {
                pos += PAGE - pos % PAGE;
            }
            if (pos + ENTRY > size) {
                return -1;
            }
            long bytes = Le.u64(b, pos + 8);
            if (bytes == 0) {
                return -1;
            }
            free += bytes;
            pos += ENTRY;
        }
        if (free != bg.length() - fs.space.used(bg)) {
            fs.log().warn(fs.sbId(), "block group " + bg.start() + " has wrong amount of free space");
            return -1;
        }
        return 1;
    }

    private static InodeItem inodeItem(FsInfo fs, Key location) {
        byte[] b = Trees.lookup(fs, fs.treeRoot(), location);
        if (b == null) {
            throw fs.log().bug("free-space-cache.c", 90, "free space inode " + location + " has no inode item");
        }
        return InodeItem.decode(b);
    }

    private static FileExtentItem firstExtent(FsInfo fs, long ino) {
        byte[] b = Trees.lookup(fs, fs.treeRoot(), new Key(ino, ItemType.EXTENT_DATA, 0));
        return b == null ? null : FileExtentItem.decode(b);
    }

    /** kernel: btrfs_update_inode() of the cache inode: generation (the cache's validity), i_size, nbytes. */
    private static InodeItem updateInode(TransHandle h, Key location, InodeItem cur, long generation, long size, long nbytes) {
        InodeItem next = new InodeItem(generation, h.transid(), size, nbytes, cur.nlink(), cur.mode());
        Trees.update(h, h.fsInfo.treeRoot(), location, next.encode());
        return next;
    }

    /**
     * The super's cache_generation as update_super_roots() leaves it (5.11): the committing transaction
     * with space_cache=v1, 0 while BTRFS_FS_CLEANUP_SPACE_CACHE_V1 is set, unchanged otherwise.
     */
    static long superCacheGeneration(FsInfo fs, long current, long transid) {
        if (fs.mountOpt.test(MountOpt.SPACE_CACHE)) {
            return transid;
        }
        if (fs.flags.test(org.jbtrfs.core.FsFlag.CLEANUP_SPACE_CACHE_V1)) {
            return 0;
        }
        return current;
    }

    /** The number of cache inodes (free space headers) in the root tree, for tests and fsck. */
    public static int headerCount(FsInfo fs) {
        return Trees.range(fs, fs.treeRoot(), FreeSpaceHeader.key(0), FreeSpaceHeader.key(-1L)).size();
    }

}
