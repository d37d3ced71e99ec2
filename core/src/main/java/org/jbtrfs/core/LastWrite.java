package org.jbtrfs.core;

/**
 * Who last wrote a 4 KiB sector of a device, and when: the thread's name, {@link System#nanoTime()} of the write, and —
 * with {@code -Djbtrfs.debug.writeStacks=true}, which costs a stack walk per write — the innermost frames of the
 * port that called it (else null). What a test or the stress runner's evidence names when a sector holds what it
 * should not: a device knows what was written, not why.
 */
public record LastWrite(String thread, long nanoTime, String frames) {
}
