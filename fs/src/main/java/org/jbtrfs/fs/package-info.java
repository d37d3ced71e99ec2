/**
 * API: the btrfs module and its filesystems, as a test suite drives them. {@link org.jbtrfs.fs.BtrfsModule} is insmod
 * and rmmod (devices, mkfs, mount, {@link org.jbtrfs.fs.BtrfsModule#unload() unload} with its
 * {@link org.jbtrfs.fs.UnloadReport}); {@link org.jbtrfs.fs.Btrfs} is one mount (remount, umount, files, directories,
 * subvolumes, quotas, sync, the cleaner's wake and pass, {@link org.jbtrfs.fs.Btrfs#inspect() inspect}); the records
 * it returns ({@link org.jbtrfs.fs.Inspection}, {@link org.jbtrfs.fs.RescanStatus}, {@link org.jbtrfs.fs.QgroupUsage})
 * are copies that hold only API types.
 *
 * <p>Everything else in this package is package-private: the kernel's open_ctree, close_ctree, btrfs_remount and
 * friends. Our own tools reach below the API through {@code org.jbtrfs.fs.internal}, which is not API (docs/api.md).
 */
package org.jbtrfs.fs;
