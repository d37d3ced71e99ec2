package org.jbtrfs.cleaner;

/** The inode cache key: (subvolume id, inode number). */
record InodeKey(long rootId, long ino) {
}
