package org.jbtrfs.core;

/** The kernel errno values the port reports, with their Linux numbers (negated in kernel returns). */
public enum Errno {
    EPERM(1), ENOENT(2), EINTR(4), EIO(5), EAGAIN(11), ENOMEM(12), EACCES(13), EBUSY(16), EEXIST(17),
    ENODEV(19), EINVAL(22), ENOSPC(28), EROFS(30), ENOSYS(38), ENOTEMPTY(39), EUCLEAN(117), EINPROGRESS(115);

    private final int number;

    Errno(int number) { this.number = number; }

    /** The positive errno number, as userspace sees it. */
    public int number() { return number; }

    /** The kernel-style negative return value. */
    public int ret() { return -number; }
}
