package org.jbtrfs.junit;

/** What the kernel reported during a test, as the extension classifies it (fstests' dmesg check). */
public enum KernelSymptom {
    /** A WARN_ON: "WARNING: ... at fs/btrfs/...". */
    WARNING,
    /** assertion failed: list_empty(&fs_info->trans_list) — patch 4/5's detector of a leaked transaction. */
    TRANS_LIST_ASSERT,
    /** assertion failed: list_empty(&fs_info->delayed_iputs) — patch 5/5's symptom. */
    DELAYED_IPUTS_ASSERT,
    /** Any other failed ASSERT. */
    ASSERTION,
    /** A kernel BUG not caused by an assertion. */
    BUG,
    /** A KASAN use-after-free report. */
    USE_AFTER_FREE,
    /** An oops (an unexpected exception in a kthread or worker) or a double free. */
    OOPS,
    /** Slab objects remaining at rmmod. */
    SLAB_LEAK,
    /** "BTRFS: state leak" at rmmod. */
    STATE_LEAK,
    /** A hung task report. */
    HUNG_TASK,
    /** A thread of the module still alive after rmmod. */
    THREADS_ALIVE
}
