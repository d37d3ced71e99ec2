package org.jbtrfs.stress;

/** A bad command line: the CLI prints the message and the usage to stderr and exits with 2. */
public final class UsageException extends Exception {
    UsageException(String message) { super(message); }
}
