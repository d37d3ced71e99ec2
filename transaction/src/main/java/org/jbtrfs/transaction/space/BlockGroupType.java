package org.jbtrfs.transaction.space;

import org.jbtrfs.core.disk.BlockGroupItem;

/** Block group / space_info types, with the flag values space_info dumps print ("space_info 4" is METADATA). */
public enum BlockGroupType {
    DATA(BlockGroupItem.TYPE_DATA), SYSTEM(BlockGroupItem.TYPE_SYSTEM), METADATA(BlockGroupItem.TYPE_METADATA);

    private final long flag;

    BlockGroupType(long flag) { this.flag = flag; }

    public long flag() { return flag; }

    public static BlockGroupType of(long flags) {
        for (BlockGroupType t : values()) {
            if ((flags & t.flag) != 0) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown block group flags " + flags);
    }
}
