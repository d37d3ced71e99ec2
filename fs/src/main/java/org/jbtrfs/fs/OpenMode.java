package org.jbtrfs.fs;

/**
 * The access mode of {@link Btrfs#open(String, OpenMode)}: open(2)'s O_RDONLY, O_WRONLY and O_RDWR. A mode that
 * writes makes the open a writer of the mount for the descriptor's whole life (FMODE_WRITER: do_dentry_open()
 * takes mnt_want_write, the last fput drops it), so it is EROFS on a read-only mount or during an RO remount, and
 * an RO remount is refused with EBUSY while it is open; a read-only descriptor is none of that, and write(2) on it
 * is EBADF.
 */
public enum OpenMode {
    /** O_RDONLY: read, fsync, sync_file_range; kept across any remount. */
    READ_ONLY(false),
    /** O_WRONLY. */
    WRITE_ONLY(true),
    /** O_RDWR: what {@link Btrfs#open(String)} opens. */
    READ_WRITE(true);

    private final boolean writes;

    OpenMode(boolean writes) { this.writes = writes; }

    /** FMODE_WRITE: the descriptor may write, and holds the mount's write access while open. */
    public boolean writes() { return writes; }
}
