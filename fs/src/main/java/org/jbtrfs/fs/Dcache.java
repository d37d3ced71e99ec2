package org.jbtrfs.fs;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.cleaner.Inode;
import org.jbtrfs.cleaner.Inodes;
import org.jbtrfs.transaction.Root;

/**
 * The dentry cache of one superblock, reduced to what matters for inode lifetime: a positive dentry
 * holds one reference on its inode (i_count) for as long as it is cached. So in steady state a linked
 * file's inode stays referenced after its last close, and the completion of its ordered extents never
 * drops the last reference; that happens only once the dentry is gone — unlink (d_delete), subvolume
 * deletion (d_invalidate), every remount (reconfigure_super's shrink_dcache_sb), umount
 * (shrink_dcache_for_umount), or memory pressure (the shrinker, which the port does not run on its own).
 *
 * <p>Keyed by inode (a file has one name: the port has no hard links). Only files have dentries here:
 * directories keep their state in {@link Dirs} and their inode items. A dentry pinned by an open file is
 * pruned like any other; the open file's own inode reference keeps the inode.
 */
final class Dcache {
    private record DentryKey(long root, long ino) { }

    private final Inodes inodes;
    private final org.jbtrfs.core.Hooks hooks;
    private final Map<DentryKey, Inode> dentries = new ConcurrentHashMap<>();

    Dcache(Inodes inodes, org.jbtrfs.core.Hooks hooks) {
        this.inodes = inodes;
        this.hooks = hooks;
    }

    /**
     * kernel: lookup_fast / btrfs_lookup() + d_add() — the inode behind a name, its dentry cached (holding
     * a reference) from now on; returns a new reference for the caller.
     */
    Inode lookup(Root root, long ino) {
        DentryKey k = new DentryKey(root.objectid(), ino);
        while (true) {
            Inode in = dentries.get(k);
            if (in != null) {
                if (inodes.igrab(in)) {
                    return in;
                }
                continue; // pruned and being freed meanwhile: look again
            }
            // the caller's reference first (the kernel's caller holds the dentry, which no shrink frees): taken after
            // the dentry's insertion, a remount's shrink_dcache_sb could drop the dentry and free the inode in between
            Inode fresh = inodes.iget(root, ino);
            inodes.igrab(fresh); // the dentry's: cannot fail, the caller's reference holds the inode
            if (dentries.putIfAbsent(k, fresh) == null) {
                hooks.arrive(org.jbtrfs.core.Hook.DENTRY_ADDED);
                return fresh;
            }
            inodes.iput(fresh); // another lookup added the dentry meanwhile: it holds its own reference
            return fresh;
        }
    }

    /** kernel: d_instantiate_new() in btrfs_create() — the new inode, in memory, referenced by its dentry. */
    void instantiate(Root root, long ino) {
        Inode fresh = inodes.iget(root, ino);
        if (dentries.putIfAbsent(new DentryKey(root.objectid(), ino), fresh) != null) {
            inodes.iput(fresh);
        }
    }

    /** kernel: d_delete() / d_prune of one file's dentry: the dentry's inode reference is dropped. */
    void drop(Root root, long ino) {
        Inode in = dentries.remove(new DentryKey(root.objectid(), ino));
        if (in != null) {
            inodes.iput(in);
        }
    }

    /** kernel: d_invalidate() of a deleted subvolume: every dentry below it goes. */
    void dropRoot(Root root) {
        for (Map.Entry<DentryKey, Inode> e : List.copyOf(dentries.entrySet())) {
            if (e.getKey().root() == root.objectid() && dentries.remove(e.getKey(), e.getValue())) {
                inodes.iput(e.getValue());
            }
        }
    }

    /** kernel: shrink_dcache_sb() (every remount) and shrink_dcache_for_umount(): every dentry goes. */
    void shrink() {
        for (Map.Entry<DentryKey, Inode> e : List.copyOf(dentries.entrySet())) {
            if (dentries.remove(e.getKey(), e.getValue())) {
                inodes.iput(e.getValue());
            }
        }
    }

    int size() { return dentries.size(); }
}
