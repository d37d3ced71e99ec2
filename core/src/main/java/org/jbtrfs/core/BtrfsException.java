package org.jbtrfs.core;

/**
 * A failed operation, carrying the kernel errno the real syscall or kernel function would return.
 * Thrown for bad input (unknown mount options, corrupt images, operations on a read-only or
 * unmounted filesystem, double umount); the module stays usable afterwards.
 */
public class BtrfsException extends RuntimeException {
    private final Errno errno;

    public BtrfsException(Errno errno, String message) {
        super(errno + ": " + message);
        this.errno = errno;
    }

    public BtrfsException(Errno errno, String message, Throwable cause) {
        super(errno + ": " + message, cause);
        this.errno = errno;
    }

    public Errno errno() { return errno; }
}
