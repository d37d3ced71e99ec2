package org.jbtrfs.core.disk;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * struct btrfs_root_item (subset): where a tree's root block is, its refs (0 = deleted subvolume), drop progress,
 * and the subvolume's uuid and received_uuid (what the UUID tree indexes). Layout: generation, root_dirid, bytenr,
 * bytes_used, last_snapshot, flags (u64 each), refs u32, drop_progress key (17), drop_level u8, level u8, uuid (16),
 * received_uuid (16) = 103 bytes. An item of the older 71-byte layout reads with empty uuids — as the kernel reads a
 * root item from before the uuid fields (btrfs_read_root_item zeroes what the item lacks), and as
 * btrfs_uuid_scan_kthread skips one shorter than struct btrfs_root_item.
 */
public record RootItem(long generation, long rootDirid, long bytenr, long bytesUsed, long lastSnapshot, long flags,
                       int refs, Key dropProgress, int dropLevel, int level, byte[] uuid, byte[] receivedUuid) {
    public static final int SIZE = 103;
    /** The layout before the uuid fields. */
    public static final int LEGACY_SIZE = 71;
    public static final int UUID_SIZE = 16;
    private static final byte[] EMPTY_UUID = new byte[UUID_SIZE];

    public RootItem {
        uuid = uuid == null ? EMPTY_UUID : checkUuid(uuid, "uuid");
        receivedUuid = receivedUuid == null ? EMPTY_UUID : checkUuid(receivedUuid, "receivedUuid");
    }

    /** A root item without uuids (the trees mkfs and the kernel create for themselves, quota, UUID). */
    public RootItem(long generation, long rootDirid, long bytenr, long bytesUsed, long lastSnapshot, long flags,
                    int refs, Key dropProgress, int dropLevel, int level) {
        this(generation, rootDirid, bytenr, bytesUsed, lastSnapshot, flags, refs, dropProgress, dropLevel, level, null, null);
    }

    private static byte[] checkUuid(byte[] u, String name) {
        if (u.length != UUID_SIZE) {
            throw new IllegalArgumentException(name + " must be " + UUID_SIZE + " bytes, got " + u.length);
        }
        return u.clone();
    }

    @Override public byte[] uuid() { return uuid.clone(); }

    @Override public byte[] receivedUuid() { return receivedUuid.clone(); }

    /** kernel: btrfs_is_empty_uuid() of this item's uuid. */
    public boolean hasUuid() { return !isEmptyUuid(uuid); }

    /** kernel: btrfs_is_empty_uuid() of this item's received_uuid. */
    public boolean hasReceivedUuid() { return !isEmptyUuid(receivedUuid); }

    /** kernel: btrfs_is_empty_uuid() — all sixteen bytes zero. */
    public static boolean isEmptyUuid(byte[] u) { return Arrays.equals(u, EMPTY_UUID); }

    public byte[] encode() {
        byte[] b = new byte[SIZE];
        Le.u64(b, 0, generation);
        Le.u64(b, 8, rootDirid);
        Le.u64(b, 16, bytenr);
        Le.u64(b, 24, bytesUsed);
        Le.u64(b, 32, lastSnapshot);
        Le.u64(b, 40, flags);
        Le.u32(b, 48, refs);
        Le.key(b, 52, dropProgress);
        b[69] = (byte) dropLevel;
        b[70] = (byte) level;
        System.arraycopy(uuid, 0, b, 71, UUID_SIZE);
        System.arraycopy(receivedUuid, 0, b, 87, UUID_SIZE);
        return b;
    }

    public static RootItem decode(byte[] b) {
        byte[] u = b.length >= SIZE ? Arrays.copyOfRange(b, 71, 87) : null;
        byte[] r = b.length >= SIZE ? Arrays.copyOfRange(b, 87, 103) : null;
        return new RootItem(Le.u64(b, 0), Le.u64(b, 8), Le.u64(b, 16), Le.u64(b, 24), Le.u64(b, 32), Le.u64(b, 40),
            Le.u32(b, 48), Le.key(b, 52), b[69] & 0xff, b[70] & 0xff, u, r);
    }

    public RootItem withNode(long newBytenr, int newLevel, long newGeneration) {
        return new RootItem(newGeneration, rootDirid, newBytenr, bytesUsed, lastSnapshot, flags, refs, dropProgress,
            dropLevel, newLevel, uuid, receivedUuid);
    }

    public RootItem withRefs(int newRefs) {
        return new RootItem(generation, rootDirid, bytenr, bytesUsed, lastSnapshot, flags, newRefs, dropProgress,
            dropLevel, level, uuid, receivedUuid);
    }

    public RootItem withDropProgress(Key progress, int dropLvl) {
        return new RootItem(generation, rootDirid, bytenr, bytesUsed, lastSnapshot, flags, refs, progress, dropLvl, level,
            uuid, receivedUuid);
    }

    /** This item with {@code newUuid} as its uuid (create_subvol's generate_random_guid). */
    public RootItem withUuid(byte[] newUuid) {
        return new RootItem(generation, rootDirid, bytenr, bytesUsed, lastSnapshot, flags, refs, dropProgress, dropLevel,
            level, newUuid, receivedUuid);
    }

    @Override public boolean equals(Object o) {
        return o instanceof RootItem r && generation == r.generation && rootDirid == r.rootDirid && bytenr == r.bytenr
            && bytesUsed == r.bytesUsed && lastSnapshot == r.lastSnapshot && flags == r.flags && refs == r.refs
            && java.util.Objects.equals(dropProgress, r.dropProgress) && dropLevel == r.dropLevel && level == r.level
            && Arrays.equals(uuid, r.uuid) && Arrays.equals(receivedUuid, r.receivedUuid);
    }

    @Override public int hashCode() {
        return java.util.Objects.hash(generation, bytenr, refs, level, Arrays.hashCode(uuid));
    }

    @Override public String toString() {
        return "RootItem[generation=" + generation + ", rootDirid=" + rootDirid + ", bytenr=" + bytenr + ", refs=" + refs
            + ", dropProgress=" + dropProgress + ", dropLevel=" + dropLevel + ", level=" + level
            + (hasUuid() ? ", uuid=" + HexFormat.of().formatHex(uuid) : "")
            + (hasReceivedUuid() ? ", receivedUuid=" + HexFormat.of().formatHex(receivedUuid) : "")
            + "]";
    }
}
