package org.jbtrfs.core;

/**
 * The device whose filesystem the work a kworker is running serves — instrumentation, not kernel state: a
 * {@link HookListener} watching several filesystems of one module tells their pooled kworkers apart by it
 * (the kernel's work item reaches its fs_info through {@code work->wq->fs_info}; the pool thread itself
 * belongs to nobody). Set by the workqueue around each work it runs, and around a filesystem's kthread's function
 * (its kthread_run data is the fs_info; the lent thread belongs to nobody either); null on any other thread.
 */
public final class WorkOwner {
    private static final ThreadLocal<String> DEVICE = new ThreadLocal<>();

    private WorkOwner() { }

    /** The device the calling thread's current work serves, or null (not running a filesystem's work). */
    public static String device() { return DEVICE.get(); }

    /** Runs {@code work} as serving {@code device}, then restores what the thread served before (works nest). */
    public static void run(String device, Runnable work) {
        String outer = DEVICE.get();
        DEVICE.set(device);
        try {
            work.run();
        } finally {
            if (outer == null) {
                DEVICE.remove();
            } else {
                DEVICE.set(outer);
            }
        }
    }
}
