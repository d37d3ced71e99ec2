package org.jbtrfs.cleaner;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.jbtrfs.core.kernel.SlabObject;
import org.jbtrfs.transaction.Root;

/**
 * An in-memory inode (struct btrfs_inode + the VFS inode's i_count, i_nlink and i_state), allocated
 * from the btrfs_inode slab cache while it is in the inode cache.
 *
 * <p>An inode leaves the cache when its last reference is dropped (iput_final), unless it is linked,
 * its subvolume is live and its page cache still pins it ({@link Mapping#pinsInode()}: dirty pages or
 * pages under writeback) — then it stays cached with i_count 0, as the VFS keeps it on the inode LRU,
 * until writeback cleans it and a later iput (or evict_inodes at umount) releases it. The port has no
 * LRU of clean inodes: a clean unreferenced inode is released at once, as if reclaimed immediately.
 */
public final class Inode {
    /**
     * The VFS side of an inode's page cache (struct address_space) that the inode's lifetime depends on;
     * installed by the data path above this module.
     */
    public interface Mapping {
        /** I_DIRTY_PAGES, or pages under writeback: iput_final keeps the inode cached (on the LRU). */
        boolean pinsInode();

        /** truncate_inode_pages_final(): eviction drops the page cache, dirty pages unwritten. */
        void truncateFinal();
    }

    final Root root;
    final long ino;
    /** i_count: references held by open files, ordered extents and a pending delayed iput. */
    final AtomicInteger count = new AtomicInteger(1);
    /** i_nlink, as in the inode item (0 once unlinked). Guarded by this. */
    int nlink;
    /** I_FREEING: eviction or release has started; no new reference may be taken. Guarded by this. */
    boolean freeing;
    private volatile Mapping mapping;
    final SlabObject slabObj;

    Inode(Root root, long ino, int nlink, SlabObject slabObj) {
        this.root = root;
        this.ino = ino;
        this.nlink = nlink;
        this.slabObj = slabObj;
    }

    public Root root() { return root; }

    public long ino() { return ino; }

    public synchronized int nlink() { return nlink; }

    public int count() { return count.get(); }

    /** The page cache installed by the data path, or null. */
    public Mapping mapping() { return mapping; }

    /** The page cache, installing {@code create}'s on first use (inode->i_mapping is set up once). */
    public synchronized Mapping mapping(Function<Inode, Mapping> create) {
        if (mapping == null) {
            mapping = create.apply(this);
        }
        return mapping;
    }

    /** Whether iput_final keeps this inode cached at i_count 0 (generic_drop_inode / btrfs_drop_inode say no). */
    synchronized boolean keepOnLru() {
        Mapping m = mapping;
        return nlink > 0 && root.refs() > 0 && m != null && m.pinsInode();
    }

    @Override
    public String toString() { return "inode " + ino + " of root " + root.objectid(); }
}
