package org.jbtrfs.core.disk;

/**
 * A btrfs key (struct btrfs_disk_key): items sort by objectid, then type, then offset, all unsigned.
 * On disk: objectid u64 LE, type u8, offset u64 LE (17 bytes).
 */
public record Key(long objectid, int type, long offset) implements Comparable<Key> {
    public static final int SIZE = 17;
    public static final Key MIN = new Key(0, 0, 0);
    public static final Key MAX = new Key(-1L, 0xff, -1L);

    public Key {
        if (type < 0 || type > 0xff) {
            throw new IllegalArgumentException("key type out of range: " + type);
        }
    }

    @Override
    public int compareTo(Key o) {
        int c = Long.compareUnsigned(objectid, o.objectid);
        if (c != 0) {
            return c;
        }
        c = Integer.compare(type, o.type);
        if (c != 0) {
            return c;
        }
        return Long.compareUnsigned(offset, o.offset);
    }

    @Override
    public String toString() {
        return "(" + Long.toUnsignedString(objectid) + " " + ItemType.name(type) + " " + Long.toUnsignedString(offset) + ")";
    }
}
