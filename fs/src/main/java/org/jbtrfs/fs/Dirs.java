package org.jbtrfs.fs;

import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.core.kernel.Mutex;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.transaction.Root;

/**
 * The directory inodes of one superblock, reduced to the state the kernel keeps in memory for them and the
 * port needs: the VFS's {@code i_rwsem} (every operation that adds or removes an entry holds its parent's,
 * rmdir and subvolume deletion also the victim's: parent first, as vfs_rmdir), btrfs's {@code index_cnt}
 * (the next DIR_INDEX offset, btrfs_set_inode_index) and {@code S_DEAD} (set under the victim's lock by
 * rmdir and btrfs_delete_subvolume; a lookup or a create in a dead directory is ENOENT, as IS_DEADDIR).
 *
 * <p>A directory's attributes (i_size, nlink) live in its inode item, which every change reads and rewrites
 * under the directory's lock in the changing transaction; directories are not in the inode cache except
 * for the moment rmdir evicts one, and hold no dentry in {@link Dcache}.
 */
final class Dirs {
    /** One directory inode: {@code (root, ino)}; ino 256 is a subvolume's top directory. */
    static final class Dir {
        final Root root;
        final long ino;
        /** inode->i_rwsem (held exclusively: the port has no shared lookups under it). */
        private final Mutex iRwsem;
        /** BTRFS_I(dir)->index_cnt: -1 until btrfs_set_inode_index_count read it from the tree. Guarded by iRwsem. */
        long indexCnt = -1;
        /** S_DEAD: removed (rmdir) or its subvolume deleted. Written under iRwsem. */
        volatile boolean dead;

        Dir(Root root, long ino, Lockdep lockdep) {
            this.iRwsem = new Mutex("i_rwsem", lockdep, "&type->i_mutex_dir_key");
            this.root = root;
            this.ino = ino;
        }

        boolean isSubvolumeRoot() { return ino == ItemType.FIRST_FREE_OBJECTID; }

        /** inode_lock(); then the VFS's IS_DEADDIR check: ENOENT if the directory was removed meanwhile. */
        void lock(String path) {
            iRwsem.lock();
            if (dead) {
                iRwsem.unlock();
                throw new BtrfsException(Errno.ENOENT, "no such file or directory: '" + path + "' (its directory was removed)");
            }
        }

        void unlock() { iRwsem.unlock(); }

        boolean heldByCurrentThread() { return iRwsem.isHeldByCurrentThread(); }

        @Override
        public String toString() { return "dir " + ino + " of root " + root.objectid(); }
    }

    private record DirKey(long root, long ino) { }

    private final Map<DirKey, Dir> dirs = new ConcurrentHashMap<>();
    private final Lockdep lockdep;

    Dirs(Lockdep lockdep) { this.lockdep = lockdep; }

    /**
     * The in-memory directory inode {@code (root, ino)} (igrab / btrfs_iget of a directory). A directory of a
     * deleted subvolume (root item refs 0) is dead from the start: only an inode already in memory outlives
     * the deletion in the kernel, and the port keeps directories only while they are used.
     */
    Dir get(Root root, long ino) {
        return dirs.computeIfAbsent(new DirKey(root.objectid(), ino), k -> {
            Dir d = new Dir(root, ino, lockdep);
            d.dead = root.refs() == 0;
            return d;
        });
    }

    /** The top directory of subvolume {@code root}. */
    Dir top(Root root) { return get(root, ItemType.FIRST_FREE_OBJECTID); }

    /** A removed directory leaves the cache (its inode was evicted). Caller holds its lock and set {@code dead}. */
    void forget(Dir d) { dirs.remove(new DirKey(d.root.objectid(), d.ino), d); }

    /** A deleted subvolume's directories leave the cache, each marked dead (btrfs_prune_dentries). */
    void forgetRoot(Root root) {
        dirs.entrySet().removeIf(e -> {
            if (e.getKey().root() == root.objectid()) {
                e.getValue().dead = true;
                return true;
            }
            return false;
        });
    }
}
