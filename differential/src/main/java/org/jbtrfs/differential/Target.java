package org.jbtrfs.differential;

import java.util.List;
import java.util.OptionalInt;

/**
 * Where a scenario runs: the real kernel ({@link org.jbtrfs.differential.kernel.KernelTarget}) or the port
 * ({@link PortTarget}). One target runs one scenario on one device at a time; {@link #close()} unmounts
 * and releases everything it made, even after a failure.
 *
 * <p>Operations throw {@link TargetException} when the target refuses (an errno from the kernel or a
 * BtrfsException from the port); the runner stops the scenario there and reports the step.
 */
public interface Target extends AutoCloseable {
    /** "kernel 6.18.44-fc-v657", "port (jbtrfs: 5.11 + the six fixes)". */
    String name();

    void mkfs(long bytes);

    void mount(String options);

    void remount(String options);

    void umount();

    /** Creates subvolume {@code name} in the top-level subvolume; returns its id. */
    long createSubvolume(String name);

    void deleteSubvolume(String name);

    /** Waits until every deleted subvolume has been dropped (btrfs subvolume sync). */
    void subvolumeSync();

    void createFile(String path);

    void unlink(String path);

    /** Appends {@code bytes} bytes to {@code path}: one data extent. */
    void write(String path, int bytes);

    /** {@code count} separate 4 KiB data extents in {@code path} (created if missing). */
    void extents(String path, int count);

    /** {@code count} empty files in subvolume {@code dir}. */
    void files(String dir, int count);

    void open(String handle, String path);

    void close(String handle);

    void quotaEnable();

    /** Starts a rescan and returns at once. */
    void quotaRescan();

    /** Waits for a running rescan (returns at once when none runs). */
    void quotaRescanWait();

    /** syncfs(2). */
    void sync();

    /** btrfs filesystem sync: commit, then wake the transaction kthread (which wakes the cleaner). */
    void fsSync();

    /** fsfreeze -f: FIFREEZE on the mount point. */
    void freeze();

    /** fsfreeze -u: FITHAW on the mount point. */
    void thaw();

    /** From now on nothing written reaches the device. */
    void crash();

    /** The device is back as it was at the crash; writes reach it again. Not mounted. */
    void recover();

    // ---- observations -----------------------------------------------------------------------------

    /** The root tree as on the device now (committed state). */
    RootTreeFacts rootTree();

    /** The quota tree as on the device now (committed state). */
    QuotaFacts quota();

    /** A mark in the kernel log: {@link #dmesgSince} returns what was logged after it. */
    long dmesgMark();

    /** The filesystem's kernel log lines after {@code mark} (message text only, no timestamps). */
    List<String> dmesgSince(long mark);

    /** Lines after {@code mark} that report a WARNING, BUG, assertion, oops or leak. */
    List<String> healthProblems(long mark);

    /**
     * What {@code btrfs quota rescan -s} reports: whether the RESCAN status flag is set (a rescan running, or
     * paused and waiting to be resumed), not whether the worker thread runs right now.
     */
    boolean rescanRunning();

    /** Transactions still open (trans_list), or empty when this target cannot see them. */
    OptionalInt openTransactions();

    /** Why {@link #openTransactions()} is empty, for the table. */
    default String whyNoTransactions() { return ""; }

    @Override
    void close();
}
