package org.jbtrfs.stress.lanes;

/** The concurrent lanes of a lanes cycle; the label names the lane's thread ("lane:file:0") and timeline column. */
enum LaneKind {
    /** remount ro/rw with option changes (commit=N), umount + mount (sometimes -o ro). */
    LIFECYCLE("lifecycle"),
    /** files: create, write data, unlink, open handles kept across remounts, close (sometimes from a worker), fill and empty a block group. */
    FILE("file"),
    /** subvolumes: create, delete (sometimes with a file of it held open), wait for the drop. */
    SUBVOLUME("subvol"),
    /** quotas: enable, disable, rescan, rescan wait, usage; many small extents so a rescan spans leaves. */
    QUOTA("quota"),
    /** sync, and explicit cleaner passes (what the transaction kthread's wake-up gives). */
    SYNC("sync"),
    /** a second device in the same module with its own mount / work / umount loop (btrfs/326's shape). */
    DEVICE2("dev2"),
    /**
     * a second process issuing quota commands (rescan, disable, enable, rescan -w) while the quota lane issues its
     * own: two `btrfs quota` commands racing, as users' scripts and syzbot run them (a rescan ioctl against quota
     * disable is the upstream report of QUOTA_RESCAN_DISABLE_NULL_DEREF). Only with the quota lane.
     */
    QUOTA2("quota2"),
    /** scrub: read-only and repairing scrubs of the whole device, and scrub cancel (stop 52). */
    SCRUB("scrub"),
    /**
     * a second writer beside the file lane (stop 60): scattered sparse writes, buffered writes left to writeback,
     * appends, sync FILE, unlinks — two writers' reservations meeting. Only with the file lane.
     */
    FILE2("file2"),
    /**
     * balance (stop 64): {@code btrfs balance start} (filters that pick no chunk: relocation is not ported), resume and
     * status; a paused balance's item lives on in the epoch's filesystem, and the next read-write mount resumes it.
     */
    BALANCE("balance"),
    /** a second process pausing and cancelling the balance lane's balances. Only with the balance lane. */
    BALANCE2("balance2"),
    /**
     * device replace (stop 65): {@code btrfs replace start} onto the filesystem's spare disk (and back), status, cancel;
     * an RO remount suspends a replace, the next read-write mount resumes it in the btrfs-devrepl kthread.
     */
    REPLACE("replace");

    public final String label;

    LaneKind(String label) { this.label = label; }
}
