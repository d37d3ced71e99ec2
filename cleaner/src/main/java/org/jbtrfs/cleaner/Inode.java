package org.jbtrfs.cleaner;

import java.util.concurrent.atomic.AtomicInteger;
import org.jbtrfs.core.SlabObject;
import org.jbtrfs.transaction.Root;

/**
 * An in-memory inode (struct btrfs_inode + the VFS inode's i_count and i_nlink), allocated from the
 * btrfs_inode slab cache while it is referenced.
 */
public final class Inode {
    final Root root;
    final long ino;
    /** i_count: references held by open files and by a pending delayed iput. */
    final AtomicInteger count = new AtomicInteger(1);
    /** i_nlink, as in the inode item (0 once unlinked). Guarded by this. */
    int nlink;
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

    @Override
    public String toString() { return "inode " + ino + " of root " + root.objectid(); }
}
