package org.jbtrfs.differential;

/** A target refused an operation (an errno from the kernel, a BtrfsException from the port) or could not run it. */
public class TargetException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TargetException(String message) { super(message); }

    public TargetException(String message, Throwable cause) { super(message, cause); }
}
