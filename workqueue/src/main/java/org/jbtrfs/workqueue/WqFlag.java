package org.jbtrfs.workqueue;

/**
 * Workqueue allocation flags (kernel: WQ_* in include/linux/workqueue.h). btrfs_init_workqueues
 * passes MEM_RECLAIM | FREEZABLE | UNBOUND to every queue; they are accepted so call sites read like
 * the kernel's, but only {@link #HIGHPRI} changes behaviour here: all queues share one unbound pool,
 * nothing is frozen, and there is no memory reclaim to guarantee forward progress for.
 */
public enum WqFlag {
    /** WQ_MEM_RECLAIM: the kernel keeps a rescuer thread; no effect here. */
    MEM_RECLAIM,
    /** WQ_FREEZABLE: frozen during suspend; no effect here. */
    FREEZABLE,
    /** WQ_UNBOUND: not bound to a CPU; every queue here is unbound. */
    UNBOUND,
    /** WQ_HIGHPRI: btrfs_alloc_workqueue adds a "-high" sub-queue, served before normal sub-queues. */
    HIGHPRI
}
