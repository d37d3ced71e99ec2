package org.jbtrfs.transaction.space;

/** struct btrfs_block_rsv: a named metadata reservation (size wanted, bytes reserved). Guarded by the SpaceManager lock. */
public final class BlockRsv {
    final String name;
    long size;
    long reserved;
    /** block_rsv->full: reserved has reached size (the delayed-refs reserve is refilled while it is not). */
    boolean full;

    BlockRsv(String name) { this.name = name; }

    public String name() { return name; }

    /** "delayed_refs_rsv: size 524288 reserved 0", as btrfs_dump_space_info prints it. */
    String dumpLine() { return name + ": size " + size + " reserved " + reserved; }
}
