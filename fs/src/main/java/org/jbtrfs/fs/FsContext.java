package org.jbtrfs.fs;

import org.jbtrfs.cleaner.Cleaner;
import org.jbtrfs.qgroup.Qgroups;
import org.jbtrfs.transaction.FsInfo;

/** The subsystems of one mounted filesystem, as open_ctree wires them. */
final class FsContext {
    final BtrfsModule module;
    final FsInfo fs;
    final Cleaner cleaner;
    final Qgroups qgroups;
    final Dcache dcache;
    final OrderedExtents ordered;
    final Writeback writeback;
    /** -o autodefrag: the inodes queued by small writes and the cleaner's pass over them. */
    final AutoDefrag defrag;
    /** The directory inodes the port keeps in memory (i_rwsem, index_cnt, S_DEAD). */
    final Dirs dirs;
    /**
     * The superblock open_ctree filled, once it is born ({@link VfsSuper#setBorn}); null while open_ctree runs, when
     * the mounter holds its s_umount for write (sget). Read by {@link FlushOnCommit}.
     */
    volatile VfsSuper sb;

    FsContext(BtrfsModule module, FsInfo fs) {
        this.module = module;
        this.fs = fs;
        this.dirs = new Dirs(fs.kernel.lockdep());
        this.cleaner = new Cleaner(fs);
        this.qgroups = new Qgroups(fs);
        this.dcache = new Dcache(cleaner.inodes(), fs.kernel.hooks());
        this.ordered = new OrderedExtents(this);
        fs.installOrderedExtentsDestroyer(ordered::destroyAll);
        fs.installDelallocInodesDestroyer(new DelallocInodes(this)::destroyAll);
        this.writeback = new Writeback(this);
        this.defrag = new AutoDefrag(this);
        fs.installDefragRunner(defrag::runDefragInodes);
        fs.installDelallocShrinker(new ShrinkDelalloc(this));
        fs.installCommitFlush(new FlushOnCommit(this));
    }
}
