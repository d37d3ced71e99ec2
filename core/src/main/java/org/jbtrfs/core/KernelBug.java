package org.jbtrfs.core;

/**
 * A kernel BUG: an ASSERT that failed (with assertions on) or a BUG_ON. It is thrown out of the
 * calling thread after the kernel log recorded it, as the kernel kills the task that hit it.
 */
public class KernelBug extends RuntimeException {
    public KernelBug(String message) { super(message); }
}
