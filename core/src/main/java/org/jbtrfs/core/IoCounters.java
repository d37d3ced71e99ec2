package org.jbtrfs.core;

/** I/O counters of a block device, as /sys/block/DEV/stat would count them. */
public record IoCounters(long reads, long bytesRead, long writes, long bytesWritten, long flushes) {
}
