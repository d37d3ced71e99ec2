package org.jbtrfs.cleaner;

import org.jbtrfs.core.Kthread;
import org.jbtrfs.transaction.FsInfo;

/**
 * The cleaner side of one mounted filesystem: its inode cache, delayed iputs, orphan cleanup, dead
 * roots and unused block groups, and the btrfs-cleaner kthread that works through them.
 */
public final class Cleaner {
    private final FsInfo fs;
    private final Inodes inodes;
    private final DelayedIputs delayedIputs;
    private final OrphanCleanup orphanCleanup;
    private final DeadRoots deadRoots;
    private final UnusedBlockGroups unusedBlockGroups;
    private final FreeSpaceInodes freeSpaceInodes;

    public Cleaner(FsInfo fs) {
        this.fs = fs;
        this.inodes = new Inodes(fs);
        this.delayedIputs = new DelayedIputs(fs, inodes);
        this.orphanCleanup = new OrphanCleanup(fs, inodes);
        this.deadRoots = new DeadRoots(fs);
        this.freeSpaceInodes = new FreeSpaceInodes(fs, inodes, delayedIputs);
        this.unusedBlockGroups = new UnusedBlockGroups(fs, freeSpaceInodes);
        // btrfs_commit_super and btrfs_end_transaction_throttle run delayed iputs from the layer below
        fs.delayedIputRunner = delayedIputs::run;
    }

    /** Starts the btrfs-cleaner kthread and records it in fs_info (open_ctree). */
    public Kthread startKthread() {
        Kthread k = CleanerKthread.start(this);
        fs.cleanerKthread = k;
        return k;
    }

    public FsInfo fs() { return fs; }

    public Inodes inodes() { return inodes; }

    public DelayedIputs delayedIputs() { return delayedIputs; }

    public OrphanCleanup orphanCleanup() { return orphanCleanup; }

    public DeadRoots deadRoots() { return deadRoots; }

    public UnusedBlockGroups unusedBlockGroups() { return unusedBlockGroups; }

    public FreeSpaceInodes freeSpaceInodes() { return freeSpaceInodes; }
}
