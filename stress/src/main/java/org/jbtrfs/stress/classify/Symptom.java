package org.jbtrfs.stress.classify;

/** What a failing cycle showed. The names are the JSON summary's symptom keys. */
public enum Symptom {
    /** KASAN use-after-free report (btrfs_queue_work on the destroyed workers queue). */
    USE_AFTER_FREE,
    /** assertion failed: list_empty(&fs_info->trans_list) (patch 4/5's detector). */
    TRANS_LIST_ASSERT,
    /** assertion failed: list_empty(&fs_info->delayed_iputs) (patch 5/5's symptom). */
    DELAYED_IPUTS_ASSERT,
    /**
     * A transaction open on a read-only filesystem when it is remounted read-write: opened after an RO remount's
     * btrfs_commit_super or on an RO mount — the leak patch 4/5's assertion catches at umount, seen before the
     * RO→RW remount's own transactions would commit it (patch 3/5's comment: after the remount's commit nothing may
     * start a transaction).
     */
    RO_LEAK,
    /**
     * A transaction committed on a read-only filesystem after its RO remount or RO mount returned (the port's
     * instrumentation, {@code Inspection.committedReadOnly}): the same start of a transaction after the last commit
     * as {@link #RO_LEAK}, which the port's fsync commits where the kernel's tree log leaves it open — a write to the
     * device of a read-only mount either way.
     */
    RO_WRITE,
    /** Any WARN_ON (block-group.c, block-rsv.c, ...). */
    WARNING,
    /** Slab objects left after umount or at rmmod, or a "BTRFS: state leak". */
    SLAB_LEAK,
    /** A deleted subvolume that will never be dropped (refs 0, no orphan item, the cleaner idle). */
    DEAD_ROOT_LEAK,
    /**
     * A mount started a UUID tree rescan ("checking UUID tree", the btrfs-uuid kthread walking every subvolume) although
     * the tree was current — the generation test that transactions started during the mount defeat (the port's
     * instrumentation, {@code Inspection.needlessUuidRescan}).
     */
    NEEDLESS_UUID_RESCAN,
    /**
     * A remount left a writable discard=async filesystem with its async discard stopped (BTRFS_FS_DISCARD_RUNNING clear):
     * nothing discarded, emptied block groups never removed until the next mount (the port's instrumentation,
     * {@code Inspection.asyncDiscardOff}).
     */
    ASYNC_DISCARD_OFF,
    /**
     * btrfs check of the image after the cycle's last umount found an error (an overlap of file extent items, a range
     * below i_size no item covers, a reference count, a dangling entry...): what fstests' {@code _check_scratch_fs}
     * reports after every test. Warnings the kernel heals at the next mount (stray orphan items) are not counted.
     */
    FSCK,
    /** A driver or lane blocked in one operation past the watchdog's limit (a hang: the module was panicked). */
    HUNG_TASK,
    /** An operation blocked in a kernel sleep past the stall threshold, which then completed. */
    STALL,
    /** Anything else: another BUG or oops, an unexpected exception, a thread alive after rmmod. */
    ERROR
}
