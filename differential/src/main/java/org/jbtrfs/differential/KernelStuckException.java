package org.jbtrfs.differential;

/**
 * The kernel's btrfs looks stuck (a umount, sync or mount did not return in time). Nothing more is asked
 * of it: the run stops, says so, and leaves the stuck mount alone.
 */
public final class KernelStuckException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public KernelStuckException(String message) { super(message); }
}
