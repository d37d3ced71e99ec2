package org.jbtrfs.differential.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;

/**
 * The few libc calls the kernel target makes itself, in-process (no mount(8), no helper processes on the
 * timed paths): mount(2), umount2(2), syncfs(2), fallocate(2), and open/read/close for /dev/kmsg.
 * Loaded only when a kernel target is created.
 */
interface Libc extends Library {
    int O_RDONLY = 0;
    int O_WRONLY = 1;
    int O_CREAT = 0100;
    int O_NONBLOCK = 04000;
    int O_DIRECTORY = 0200000;
    int O_CLOEXEC = 02000000;
    int EAGAIN = 11;
    int EPIPE = 32;
    int EINTR = 4;
    long MS_RDONLY = 1;
    long MS_REMOUNT = 32;
    /** BTRFS_IOC_SYNC = _IO(BTRFS_IOCTL_MAGIC 0x94, 8): what `btrfs filesystem sync` calls. */
    long BTRFS_IOC_SYNC = 0x9408;
    /** BTRFS_IOC_QUOTA_RESCAN = _IOW(0x94, 44, struct btrfs_ioctl_quota_rescan_args): `btrfs quota rescan`. */
    long BTRFS_IOC_QUOTA_RESCAN = 0x4040942cL;
    /** BTRFS_IOC_QUOTA_RESCAN_STATUS = _IOR(0x94, 45, struct btrfs_ioctl_quota_rescan_args): `btrfs quota rescan -s`. */
    long BTRFS_IOC_QUOTA_RESCAN_STATUS = 0x8040942dL;
    /** BTRFS_IOC_QUOTA_RESCAN_WAIT = _IO(0x94, 46): `btrfs quota rescan -W`. */
    long BTRFS_IOC_QUOTA_RESCAN_WAIT = 0x942e;
    /** FIFREEZE = _IOWR('X', 119, int): what `fsfreeze -f` calls (the argument is not read). */
    long FIFREEZE = 0xc0045877L;
    /** FITHAW = _IOWR('X', 120, int): what `fsfreeze -u` calls. */
    long FITHAW = 0xc0045878L;
    /** sizeof(struct btrfs_ioctl_quota_rescan_args): flags, progress, reserved[6] (u64 each). */
    int QUOTA_RESCAN_ARGS_SIZE = 64;

    static Libc load() { return Native.load("c", Libc.class); }

    int mount(String source, String target, String fstype, NativeLong flags, String data) throws LastErrorException;

    int umount2(String target, int flags) throws LastErrorException;

    int open(String path, int flags, int mode) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    NativeLong read(int fd, byte[] buf, NativeLong count) throws LastErrorException;

    int syncfs(int fd) throws LastErrorException;

    int fallocate(int fd, int mode, long offset, long len) throws LastErrorException;

    int ioctl(int fd, NativeLong request, com.sun.jna.Pointer arg) throws LastErrorException;

    /** strerror(3) text for an errno. */
    String strerror(int errnum);
}
