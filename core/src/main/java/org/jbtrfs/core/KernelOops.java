package org.jbtrfs.core;

/**
 * An oops: the port detected an access the real kernel would have crashed on (a use-after-free of a
 * poisoned object, a double free). The report is in the kernel log before this is thrown.
 */
public class KernelOops extends RuntimeException {
    public KernelOops(String message) { super(message); }
}
