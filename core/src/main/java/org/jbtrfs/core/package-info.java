/**
 * API: what a test configures and observes beside the filesystem itself — the kernel configuration
 * ({@link org.jbtrfs.core.KernelConfig}, {@link org.jbtrfs.core.KernelVersion}, {@link org.jbtrfs.core.FixSwitch},
 * {@link org.jbtrfs.core.Crc32cImpl}, the clocks, {@link org.jbtrfs.core.LatencyModel}); the named race windows and
 * injected faults ({@link org.jbtrfs.core.Hook}, {@link org.jbtrfs.core.Hooks}, {@link org.jbtrfs.core.Fault},
 * {@link org.jbtrfs.core.Faults}, {@link org.jbtrfs.core.Role}); the kernel log and what it reports
 * ({@link org.jbtrfs.core.KernelLog}, {@link org.jbtrfs.core.LogEntry}, {@link org.jbtrfs.core.Taint},
 * {@link org.jbtrfs.core.KernelBug}, {@link org.jbtrfs.core.KernelOops}, {@link org.jbtrfs.core.KernelPanic},
 * {@link org.jbtrfs.core.SlabLeak}); errors ({@link org.jbtrfs.core.BtrfsException}, {@link org.jbtrfs.core.Errno});
 * block devices; and the fs_info flag and state bits {@link org.jbtrfs.core.FsFlag}, {@link org.jbtrfs.core.FsState}.
 *
 * <p>The kernel machinery (kthreads, the scheduler's wait names, flag words, slabs, crc32c drivers) is in
 * {@code org.jbtrfs.core.kernel} and the on-disk format in {@code org.jbtrfs.core.disk}: both internal (docs/api.md).
 */
package org.jbtrfs.core;
