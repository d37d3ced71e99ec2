package org.jbtrfs.fs;

/**
 * What {@code btrfs quota rescan -s} asks the kernel (BTRFS_IOC_QUOTA_RESCAN_STATUS), plus the two facts
 * about the worker the ioctl does not report.
 *
 * <p>kernel: btrfs_ioctl_quota_rescan_status() in fs/btrfs/ioctl.c reports {@code flags = 1} and the
 * progress objectid when the RESCAN bit is set in fs_info->qgroup_flags, else zeros. The bit is on disk in
 * the status item: it stays set while a rescan is paused (an RO remount with patch 1/5, an umount) and a
 * later RW mount or RO→RW remount resumes it — so "running" in btrfs-progs' sense is not "a worker runs".
 *
 * @param flags         1 if BTRFS_QGROUP_STATUS_FLAG_RESCAN is set, else 0 (the ioctl's {@code flags})
 * @param progress      qgroup_rescan_progress.objectid when {@code flags} is 1 (where the worker goes on;
 *                      all ones after the last leaf), else 0 (the ioctl's {@code progress})
 * @param running       fs_info->qgroup_rescan_running: set when the worker is queued, cleared by the worker
 *                      when it updates the status (what btrfs_qgroup_wait_for_completion tests)
 * @param workerActive  the worker is queued or executing: cleared only when its function has returned
 *                      (after it ended its status-update transaction and logged "qgroup scan ...")
 */
public record RescanStatus(int flags, long progress, boolean running, boolean workerActive) {
    /** The qgroup module's status, copied into the API's record. */
    static RescanStatus of(org.jbtrfs.qgroup.RescanStatus s) {
        return new RescanStatus(s.flags(), s.progress(), s.running(), s.workerActive());
    }

    /** The RESCAN status bit is set: the rescan is in progress (running, queued or paused). */
    public boolean inProgress() { return flags != 0; }

    /** btrfs-progs' line for {@code btrfs quota rescan -s} (cmds/qgroup.c). */
    public String describe() {
        return flags == 0 ? "no rescan operation in progress"
            : "rescan operation running (current key " + progress + ")"; // progs prints it with %lld
    }
}
