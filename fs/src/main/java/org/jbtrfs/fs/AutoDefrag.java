package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.FixSwitch;
import org.jbtrfs.core.FsState;
import org.jbtrfs.core.Hook;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.kernel.SlabCache;
import org.jbtrfs.core.kernel.SlabObject;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.FsRoots;
import org.jbtrfs.transaction.Root;
import org.jbtrfs.transaction.TreeItem;
import org.jbtrfs.transaction.Trees;

/**
 * Autodefrag of one mounted filesystem (v5.11): the tree of inodes to defrag and the cleaner's pass over it
 * (fs/btrfs/file.c: btrfs_add_inode_defrag, btrfs_run_defrag_inodes, __btrfs_run_defrag_inode,
 * btrfs_cleanup_defrag_inodes) and the part of btrfs_defrag_file (fs/btrfs/ioctl.c) that pass runs: find the small
 * extents written since the inode was queued and re-dirty them, so the next writeback rewrites them as one extent.
 *
 * <p>The lifecycle is the point: the cleaner runs this after cleaner_mutex, with CLEANER_RUNNING set and under
 * {@code sb_start_write} (a frozen filesystem blocks it there); it stops at REMOUNTING and once the filesystem is
 * closing; an RO remount (btrfs_remount_begin) and close_ctree wait for {@code defrag_running} to reach zero on
 * {@code transaction_wait}, and btrfs_remount_cleanup / close_ctree empty the tree.
 *
 * <p>What the port leaves out: the port's files are appended to, so a cluster is made of whole extents (the kernel's
 * cluster is 64 pages from an aligned start, and btrfs_drop_extents splits what it cuts — the port's does too, see
 * OrderedExtents.dropExtents, but its clusters never need it); the extent map cache, readahead, the delalloc space reservation and compression of the cluster are not
 * modelled; the defrag ioctl is not ported.
 */
final class AutoDefrag {
    /** BTRFS_DEFRAG_BATCH: pages one run of an inode may re-dirty before it is requeued. */
    static final int DEFRAG_BATCH = 1024;
    private static final long PAGE = 4096;
    /** cow_file_range's inode_should_defrag threshold (SZ_64K); compress_file_range passes SZ_16K. */
    static final long SMALL_WRITE = 64 * 1024;
    static final long SMALL_WRITE_COMPRESSED = 16 * 1024;
    /** find_new_extents' thresh from btrfs_defrag_file (SZ_64K). */
    private static final long NEW_EXTENT_THRESH = 64 * 1024;
    /** btrfs_defrag_file's default extent_thresh (SZ_256K): an extent this big is left alone. */
    private static final long EXTENT_THRESH = 256 * 1024;
    /** max_cluster: 256 KiB of pages per cluster_pages_for_defrag. */
    private static final long MAX_CLUSTER = 256 * 1024;
    /** new_align: a cluster found by find_new_extents starts at a 128 KiB boundary. */
    private static final long NEW_ALIGN = 128 * 1024;

    private final FsContext ctx;
    private final FsInfo fs;
    private final SlabCache slab;
    /** fs_info->defrag_inodes, by (root, ino); guarded by this (defrag_inodes_lock). */
    private final TreeMap<DefragKey, InodeDefrag> tree = new TreeMap<>();
    /** fs_info->defrag_running; guarded by this, waited for on this monitor (transaction_wait). */
    private int running;

    private record DefragKey(long root, long ino) implements Comparable<DefragKey> {
        /** __compare_inode_defrag(): by root, then by inode number. */
        @Override
        public int compareTo(DefragKey o) {
            int c = Long.compare(root, o.root);
            return c != 0 ? c : Long.compare(ino, o.ino);
        }
    }

    /** struct inode_defrag: one queued inode (a btrfs_inode_defrag slab object). */
    private static final class InodeDefrag {
        final DefragKey key;
        long transid;
        long lastOffset;
        boolean cycled;
        final SlabObject slabObj;

        InodeDefrag(DefragKey key, long transid, SlabObject slabObj) {
            this.key = key;
            this.transid = transid;
            this.slabObj = slabObj;
        }
    }

    AutoDefrag(FsContext ctx) {
        this.ctx = ctx;
        this.fs = ctx.fs;
        this.slab = fs.kernel.slabs().cache("btrfs_inode_defrag");
    }

    /** kernel: __need_auto_defrag() — the option is on and the filesystem is not closing. */
    boolean needAutoDefrag() { return fs.mountOpt.test(MountOpt.AUTO_DEFRAG) && fs.fsClosing() == 0; }

    /**
     * kernel: inode_should_defrag() in fs/btrfs/inode.c, from cow_file_range (and compress_file_range, with a 16 KiB
     * threshold) — with autodefrag on, a write smaller than {@code smallWrite} that does not cover the whole file queues the inode.
     */
    void inodeShouldDefrag(InodeData d, long start, long numBytes, long smallWrite) {
        if (fs.mountOpt.test(MountOpt.AUTO_DEFRAG) && numBytes < smallWrite && (start > 0 || start + numBytes < d.diskISize())) {
            addInodeDefrag(d, d.inode.root().lastTrans());
        }
    }

    /**
     * kernel: btrfs_add_inode_defrag(NULL, inode) in fs/btrfs/file.c — queue the inode with the root's last
     * transaction as its transid, unless autodefrag is off, the filesystem closing, or the inode already queued
     * (BTRFS_INODE_IN_DEFRAG).
     */
    void addInodeDefrag(InodeData d, long transid) {
        if (!needAutoDefrag() || d.inDefrag) {
            return;
        }
        InodeDefrag defrag = new InodeDefrag(new DefragKey(d.inode.root().objectid(), d.inode.ino()), transid, slab.alloc());
        fs.kernel.hooks().arrive(Hook.ADD_INODE_DEFRAG_BEFORE_INSERT);
        synchronized (this) {
            if (fs.applied(FixSwitch.ADD_INODE_DEFRAG_CLOSING_RACE) && !needAutoDefrag()) {
                // proposed: close_ctree may have set CLOSING_START and run btrfs_cleanup_defrag_inodes since the test
                // above — tested again under defrag_inodes_lock, which that cleanup takes
                defrag.slabObj.free();
                return;
            }
            // an inode evicted and read again lost IN_DEFRAG: the insert finds its old record and merges
            if (d.inDefrag || !insert(d, defrag)) {
                defrag.slabObj.free();
            }
        }
    }

    /**
     * kernel: __btrfs_add_inode_defrag() — caller holds the lock. An existing record for the inode takes the lower
     * transid and the higher last_offset, and the new one is not used (-EEXIST: false); else IN_DEFRAG is set.
     */
    private boolean insert(InodeData d, InodeDefrag defrag) {
        InodeDefrag entry = tree.get(defrag.key);
        if (entry != null) {
            entry.transid = Math.min(entry.transid, defrag.transid);
            entry.lastOffset = Math.max(entry.lastOffset, defrag.lastOffset);
            return false;
        }
        d.inDefrag = true;
        tree.put(defrag.key, defrag);
        return true;
    }

    /** kernel: btrfs_requeue_inode_defrag() — back in the tree (merged with a newer record), or freed. */
    private void requeue(InodeData d, InodeDefrag defrag) {
        if (needAutoDefrag()) {
            synchronized (this) {
                if (insert(d, defrag)) {
                    return;
                }
            }
        }
        defrag.slabObj.free();
    }

    /** kernel: btrfs_pick_defrag_inode() — the record for (root, ino) or the next one, taken out of the tree. */
    private synchronized InodeDefrag pick(long root, long ino) {
        Map.Entry<DefragKey, InodeDefrag> e = tree.ceilingEntry(new DefragKey(root, ino));
        if (e == null) {
            return null;
        }
        tree.remove(e.getKey());
        return e.getValue();
    }

    /** kernel: btrfs_cleanup_defrag_inodes() — free every queued record (remount cleanup, close_ctree). */
    void cleanupDefragInodes() {
        List<InodeDefrag> l;
        synchronized (this) {
            l = new ArrayList<>(tree.values());
            tree.clear();
        }
        l.forEach(defrag -> defrag.slabObj.free());
    }

    /** Inodes queued for autodefrag (inspection and tests). */
    synchronized int queued() { return tree.size(); }

    /** kernel: wait_event(fs_info->transaction_wait, atomic_read(&fs_info->defrag_running) == 0) */
    synchronized void waitForDefraggers() {
        fs.kernel.sched().waitUntil(this, "wait_event(transaction_wait, defrag_running == 0)", () -> running == 0);
    }

    /**
     * kernel: btrfs_run_defrag_inodes() in fs/btrfs/file.c — the cleaner's pass over the queued inodes, in (root,
     * ino) order and around once more from the start, counted in defrag_running; it pauses at REMOUNTING and stops
     * when autodefrag is off or the filesystem closing. The end wakes transaction_wait (remount and umount wait there).
     */
    void runDefragInodes() {
        synchronized (this) {
            running++;
        }
        try {
            long firstIno = 0;
            long rootObjectid = 0;
            while (true) {
                if (fs.fsState.test(FsState.REMOUNTING)) {
                    break; // "Pause the auto defragger."
                }
                if (!needAutoDefrag()) {
                    break;
                }
                InodeDefrag defrag = pick(rootObjectid, firstIno);
                if (defrag == null) {
                    if (rootObjectid != 0 || firstIno != 0) {
                        rootObjectid = 0;
                        firstIno = 0;
                        continue;
                    }
                    break;
                }
                firstIno = defrag.key.ino() + 1;
                rootObjectid = defrag.key.root();
                runDefragInode(defrag);
            }
        } finally {
            synchronized (this) {
                running--;
                notifyAll(); // wake_up(&fs_info->transaction_wait)
            }
        }
    }

    /**
     * kernel: __btrfs_run_defrag_inode() in fs/btrfs/file.c — btrfs_get_fs_root and btrfs_iget (a deleted subvolume
     * or inode frees the record), clear IN_DEFRAG, btrfs_defrag_file from last_offset under sb_start_write, requeue
     * when the batch was full or once more from 0 when it did not start there, then iput — which may be the inode's
     * last reference: its eviction then runs here, in the cleaner.
     */
    private void runDefragInode(InodeDefrag defrag) {
        Inode inode;
        try {
            Root root = FsRoots.getFsRoot(fs, defrag.key.root(), true);
            inode = ctx.cleaner.inodes().iget(root, defrag.key.ino());
        } catch (BtrfsException e) {
            defrag.slabObj.free();
            return;
        }
        try {
            InodeData d;
            try {
                d = InodeData.of(fs, inode);
            } catch (BtrfsException e) {
                defrag.slabObj.free();
                return;
            }
            d.inDefrag = false;
            long[] rangeStart = {defrag.lastOffset};
            int numDefrag;
            Object write = fs.sbWriters.startWrite(); // sb_start_write: a frozen filesystem blocks the cleaner here
            try {
                numDefrag = defragFile(d, defrag.transid, rangeStart);
            } catch (BtrfsException e) {
                // a search or read error ends btrfs_defrag_file with that error (find_new_extents: "none"; a page not
                // uptodate: -EIO); the record is requeued or freed as for any short run (stop 31: the port's first
                // version let it out of the cleaner, a dead kthread — AutoDefragTest)
                numDefrag = e.errno().ret();
            } finally {
                fs.sbWriters.endWrite(write);
            }
            if (numDefrag == DEFRAG_BATCH) {
                defrag.lastOffset = rangeStart[0];
                requeue(d, defrag);
            } else if (defrag.lastOffset != 0 && !defrag.cycled) {
                defrag.lastOffset = 0;
                defrag.cycled = true;
                requeue(d, defrag);
            } else {
                defrag.slabObj.free();
            }
        } finally {
            ctx.cleaner.inodes().iput(inode);
        }
    }

    /**
     * One file extent item: [offset, offset + numBytes), its generation, where its bytes are on disk (block_start), and
     * whether it is a hole (an extent map with block_start EXTENT_MAP_HOLE: never defragged, never merged with).
     */
    private record Extent(long offset, long numBytes, long generation, long blockStart, boolean hole) {
        long end() { return offset + numBytes; }
    }

    private List<Extent> extents(InodeData d) {
        long ino = d.inode.ino();
        List<Extent> l = new ArrayList<>();
        for (TreeItem it : Trees.range(fs, d.inode.root(), new Key(ino, ItemType.EXTENT_DATA, 0), new Key(ino, ItemType.EXTENT_DATA, -1L))) {
            FileExtentItem fe = FileExtentItem.decode(it.data());
            l.add(new Extent(it.key().offset(), fe.numBytes(), fe.generation(), fe.blockStart(), fe.isHole()));
        }
        return l;
    }

    /**
     * kernel: btrfs_defrag_file(inode, NULL, range from {@code rangeStart[0]}, newer_than, BTRFS_DEFRAG_BATCH) in
     * fs/btrfs/ioctl.c, as autodefrag calls it: from the first small extent newer than {@code newerThan}
     * (find_new_extents), aligned down, each extent that should be defragged (should_defrag_range: smaller than 256 KiB
     * and followed by a mergeable extent, or after one that was) starts a cluster that is re-dirtied
     * (cluster_pages_for_defrag); then the next new extent. Stops when SB_ACTIVE is cleared (umount). Returns the pages
     * re-dirtied, and leaves in {@code rangeStart[0]} where the last search started.
     */
    private int defragFile(InodeData d, long newerThan, long[] rangeStart) {
        long isize = d.isize();
        if (isize == 0) {
            return 0;
        }
        if (rangeStart[0] >= isize) {
            return Errno.EINVAL.ret(); // -EINVAL: neither a full batch nor a requeue from 0
        }
        long newerOff = findNewExtents(d, newerThan, rangeStart[0]);
        if (newerOff < 0) {
            return Errno.ENOENT.ret(); // find_new_extents' -ENOENT, returned as it is ("goto out_ra")
        }
        rangeStart[0] = newerOff;
        long i = newerOff & ~(NEW_ALIGN - 1);
        int defragCount = 0;
        boolean prevMergeable = false;
        while (i < isize && defragCount < DEFRAG_BATCH) {
            if (!ctx.cleaner.inodes().sbActive()) {
                break; // "make sure we stop running if someone unmounts the FS"
            }
            long seen = d.extentChanges(); // before the items are read: a change after this makes them stale
            List<Extent> all = extents(d);
            Extent em = at(all, i);
            if (em == null) {
                break; // beyond the file extent items: dirty or in flight
            }
            if (!shouldDefrag(all, em, isize, prevMergeable)) {
                prevMergeable = false;
                i = Math.max(i + 1, em.end());
                continue;
            }
            prevMergeable = true;
            List<Extent> cluster = cluster(all, em);
            fs.kernel.hooks().arrive(Hook.DEFRAG_BEFORE_CLUSTER);
            int pages = clusterPagesForDefrag(d, cluster, seen);
            defragCount += pages;
            if (pages > 0) {
                i = Math.max(i + (long) pages * PAGE, cluster.get(cluster.size() - 1).end());
            }
            newerOff = Math.max(newerOff + 1, i);
            newerOff = findNewExtents(d, newerThan, newerOff);
            if (newerOff < 0) {
                break;
            }
            rangeStart[0] = newerOff;
            i = newerOff & ~(NEW_ALIGN - 1);
        }
        return defragCount;
    }

    /**
     * kernel: find_new_extents() — the offset of the first regular extent at or after {@code off} smaller than 64 KiB
     * and written after transaction {@code newerThan}, or -1. A hole is a regular item too (should_defrag_range skips it).
     */
    private long findNewExtents(InodeData d, long newerThan, long off) {
        for (Extent e : extents(d)) {
            if (e.offset() >= off && e.numBytes() < NEW_EXTENT_THRESH && e.generation() > newerThan) {
                return e.offset();
            }
        }
        return -1;
    }

    /** The extent covering {@code off}, or the first one after it (the port's extents need not be page aligned). */
    private static Extent at(List<Extent> all, long off) {
        for (Extent e : all) {
            if (e.end() > off) {
                return e;
            }
        }
        return null;
    }

    /**
     * kernel: should_defrag_range() with defrag_check_next_extent() — an extent of 256 KiB or more is left alone, and
     * so is one that is neither followed by a mergeable extent (the last one of the file is not; nor one physically
     * contiguous with the next when both exceed 128 KiB) nor preceded by one being defragged. A hole is left alone
     * ("this will cover holes"), and an extent followed by one has no mergeable next.
     */
    private static boolean shouldDefrag(List<Extent> all, Extent em, long isize, boolean prevMergeable) {
        if (em.hole() || em.numBytes() >= EXTENT_THRESH) {
            return false;
        }
        boolean nextMergeable = false;
        int idx = all.indexOf(em);
        if (em.end() < isize && idx + 1 < all.size()) {
            Extent next = all.get(idx + 1);
            nextMergeable = next.offset() == em.end() && !next.hole()
                && !(em.blockStart() + em.numBytes() == next.blockStart() && em.numBytes() > 128 * 1024 && next.numBytes() > 128 * 1024);
        }
        return nextMergeable || prevMergeable;
    }

    /** The whole extents from {@code em} a cluster takes: at least {@code em}, then while they fit in MAX_CLUSTER. */
    private static List<Extent> cluster(List<Extent> all, Extent em) {
        List<Extent> c = new ArrayList<>();
        long len = 0;
        for (int k = all.indexOf(em); k < all.size(); k++) {
            Extent e = all.get(k);
            if (!c.isEmpty() && (e.hole() || e.offset() != c.get(c.size() - 1).end() || len + e.numBytes() > MAX_CLUSTER)) {
                break;
            }
            c.add(e);
            len += e.numBytes();
        }
        return c;
    }

    /**
     * kernel: cluster_pages_for_defrag() — reserve the cluster's data and metadata space (btrfs_delalloc_reserve_space),
     * wait for the inode's ordered extents, read the cluster's pages and mark them
     * delalloc and dirty again (set_extent_defrag, set_page_dirty); the inode goes on the superblock's dirty list.
     * Pages already dirty are left to their own writeback. Returns the pages re-dirtied.
     */
    private int clusterPagesForDefrag(InodeData d, List<Extent> c, long extentChangesSeen) {
        long start = c.get(0).offset();
        long len = c.get(c.size() - 1).end() - start;
        // btrfs_delalloc_reserve_space() over the cluster's pages, first (stop 56): data, then metadata — in the cleaner,
        // a full filesystem's reservation waits on a ticket for the async reclaim works
        long dataBytes = d.reserveData(start, len);
        InodeData.Redirtied r = InodeData.Redirtied.OVERLAP;
        try {
            d.reserveDelallocMetadata(len);
            try {
                ctx.ordered.waitOrderedRange(d);
                byte[] data = new byte[(int) len];
                d.fileExtentItemsLock.lock(); // the pages' extent lock while they are read
                try {
                    // extents changed since they were listed: the kernel's readpage would read the new ones; the redirty
                    // below finds the change and gives the cluster up, so nothing is read from extents that may be freed
                    if (d.extentChanges() == extentChangesSeen) {
                        for (Extent e : c) {
                            DataReads.read(fs, d.inode.root().objectid(), d.inode.ino(), e.offset(), e.blockStart(), data,
                                (int) (e.offset() - start), (int) e.numBytes());
                        }
                    }
                } finally {
                    d.fileExtentItemsLock.unlock();
                }
                r = d.redirtyForDefrag(start, data, extentChangesSeen);
            } finally {
                d.metaRsvWriteEnd(); // btrfs_delalloc_release_extents (and the unused metadata back, if nothing was dirtied)
            }
        } finally {
            d.releaseData(r != InodeData.Redirtied.OVERLAP, dataBytes);
        }
        if (r == InodeData.Redirtied.OVERLAP) {
            return 0;
        }
        if (r == InodeData.Redirtied.WAS_CLEAN) {
            ctx.writeback.markInodeDirty(d);
        }
        return (int) ((len + PAGE - 1) / PAGE);
    }
}
