package org.jbtrfs.transaction;

import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.kernel.Lockdep;
import org.jbtrfs.core.kernel.PercpuRwSemaphore;
import org.jbtrfs.core.kernel.Sched;

/**
 * kernel: struct sb_writers (include/linux/fs.h) — the superblock's freeze levels, here with the fs_info as the port
 * keeps the VFS's SB_RDONLY there too ({@code fs_info->sb->s_writers}). One percpu rw semaphore per level: user
 * writes hold SB_FREEZE_WRITE (sb_start_write, from mnt_want_write and file_start_write), page faults
 * SB_FREEZE_PAGEFAULT (not modelled: no mmap), btrfs' freezable transaction handles SB_FREEZE_FS
 * (sb_start_intwrite in start_transaction, sb_end_intwrite when the handle ends or its commit is done). freeze_super
 * takes the write side of each level in turn and keeps them until thaw_super.
 */
public final class SbWriters {
    /** sb->s_writers.frozen (enum in include/linux/fs.h). */
    public enum Frozen { UNFROZEN, WRITE, PAGEFAULT, FS, COMPLETE }

    /** The freeze levels, SB_FREEZE_WRITE .. SB_FREEZE_FS. */
    public enum Level { WRITE, PAGEFAULT, FS }

    private final PercpuRwSemaphore[] rwSem = new PercpuRwSemaphore[Level.values().length];
    /** sb->s_writers.frozen: written under s_umount held exclusively. */
    private volatile Frozen frozen = Frozen.UNFROZEN;
    /** Whether the freeze took the levels (a read-write superblock's freeze), until a thaw releases them. */
    private volatile boolean levelsTaken;

    /** The lockdep names of the levels (sb_writers_name[] in fs/super.c). */
    private static final String[] LOCKDEP_NAMES = {"sb_writers", "sb_pagefaults", "sb_internal"};

    SbWriters(Sched sched, Lockdep lockdep) {
        for (Level l : Level.values()) {
            // the internal level nests as transaction handles do (current->journal_info); the others do not nest
            rwSem[l.ordinal()] = new PercpuRwSemaphore("sb_writers." + l.name().toLowerCase(), sched, l == Level.FS, lockdep,
                LOCKDEP_NAMES[l.ordinal()]);
        }
    }

    public Frozen frozen() { return frozen; }

    /** sb->s_writers.frozen != SB_UNFROZEN: frozen, or a freeze under way. */
    public boolean isFrozen() { return frozen != Frozen.UNFROZEN; }

    /** Called by the VFS's freeze_super / thaw_super, holding s_umount exclusively. */
    public void setFrozen(Frozen f) { frozen = f; }

    /** kernel: sb_start_write() — blocks while the superblock is frozen (from SB_FREEZE_WRITE on); the hold for {@link #endWrite}. */
    public Object startWrite() { return rwSem[Level.WRITE.ordinal()].downRead(); }

    /** kernel: sb_end_write() */
    public void endWrite(Object hold) { rwSem[Level.WRITE.ordinal()].upRead(hold); }

    /** kernel: sb_start_intwrite() — blocks from SB_FREEZE_FS on; the hold for {@link #endIntwrite}. */
    public Object startIntwrite() { return rwSem[Level.FS.ordinal()].downRead(); }

    /** kernel: sb_end_intwrite() */
    public void endIntwrite(Object hold) { rwSem[Level.FS.ordinal()].upRead(hold); }

    /** kernel: sb_wait_write() — percpu_down_write of one level: no new holders, wait for those inside. */
    public void waitWrite(Level l) { rwSem[l.ordinal()].downWrite(); }

    /** kernel: sb_freeze_unlock() — percpu_up_write of every level, SB_FREEZE_FS first. */
    public void freezeUnlock(KernelLog log) {
        levelsTaken = false;
        for (int l = Level.values().length - 1; l >= 0; l--) {
            rwSem[l].upWrite(log);
        }
    }

    /** freeze_super of a read-write superblock: it takes the levels from here on (the port's record, not the kernel's). */
    public void markLevelsTaken() { levelsTaken = true; }

    /** Whether the current freeze took the levels (the proposed {@code THAW_FORCED_READONLY} reads it). */
    public boolean levelsTaken() { return levelsTaken; }

    /** kernel: lockdep_sb_freeze_release() — at the end of freeze_super: the levels stay taken, lockdep forgets them. */
    public void lockdepFreezeRelease() {
        for (int l = Level.values().length - 1; l >= 0; l--) {
            rwSem[l].lockdepReleaseWrite();
        }
    }

    /** kernel: lockdep_sb_freeze_acquire() — thaw_super tells lockdep it holds the levels again (as trylocks). */
    public void lockdepFreezeAcquire() {
        for (PercpuRwSemaphore s : rwSem) {
            s.lockdepAcquireWrite();
        }
    }

    /**
     * Whether a level was released without being taken (an unbalanced thaw): its rcu_sync underflowed, and a freeze
     * from now on no longer keeps writers out ({@link PercpuRwSemaphore}).
     */
    public boolean unbalanced() {
        for (PercpuRwSemaphore s : rwSem) {
            if (s.unbalanced()) {
                return true;
            }
        }
        return false;
    }

    /** Holders of the internal level now: open freezable transaction handles (inspection). */
    public int intwriters() { return rwSem[Level.FS.ordinal()].readers(); }
}
