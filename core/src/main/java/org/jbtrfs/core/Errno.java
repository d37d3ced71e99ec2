package org.jbtrfs.core;

/** The kernel errno values the port reports, with their Linux numbers (negated in kernel returns). */
public enum Errno {
    EPERM(1), ENOENT(2), EINTR(4), EIO(5), EBADF(9), EAGAIN(11), ENOMEM(12), EACCES(13), EBUSY(16), EEXIST(17),
    ENODEV(19), ENOTDIR(20), EISDIR(21), EINVAL(22), ENOSPC(28), EROFS(30), ERANGE(34), ENAMETOOLONG(36), ENOSYS(38),
    ENOTEMPTY(39), EOPNOTSUPP(95), ENOTCONN(107), ETIMEDOUT(110), EINPROGRESS(115), EUCLEAN(117), ECANCELED(125);

    private final int number;

    Errno(int number) { this.number = number; }

    /** The positive errno number, as userspace sees it. */
    public int number() { return number; }

    /** The kernel-style negative return value. */
    public int ret() { return -number; }
}
