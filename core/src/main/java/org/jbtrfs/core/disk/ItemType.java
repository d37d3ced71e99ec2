package org.jbtrfs.core.disk;

/** Item key types and well-known object ids of the on-disk format (values as in btrfs_tree.h). */
public final class ItemType {
    private ItemType() { }

    public static final int INODE_ITEM = 1;
    public static final int INODE_REF = 12;
    public static final int DIR_ITEM = 84;
    public static final int DIR_INDEX = 96;
    public static final int EXTENT_DATA = 108;
    /** BTRFS_EXTENT_CSUM_KEY: csum tree, (EXTENT_CSUM_OBJECTID, 128, logical start) → one crc32c per sector. */
    public static final int EXTENT_CSUM = 128;
    public static final int ROOT_ITEM = 132;
    public static final int ROOT_BACKREF = 144;
    public static final int ROOT_REF = 156;
    public static final int EXTENT_ITEM = 168;
    public static final int METADATA_ITEM = 169;
    public static final int TREE_BLOCK_REF = 176;
    public static final int EXTENT_DATA_REF = 178;
    public static final int BLOCK_GROUP_ITEM = 192;
    /** BTRFS_FREE_SPACE_INFO_KEY: free space tree, (block group start, length). */
    public static final int FREE_SPACE_INFO = 198;
    /** BTRFS_FREE_SPACE_EXTENT_KEY: free space tree, (start, length) of a free extent. */
    public static final int FREE_SPACE_EXTENT = 199;
    /** BTRFS_FREE_SPACE_BITMAP_KEY */
    public static final int FREE_SPACE_BITMAP = 200;
    public static final int QGROUP_STATUS = 240;
    public static final int QGROUP_INFO = 242;
    public static final int QGROUP_LIMIT = 244;
    public static final int ORPHAN_ITEM = 48;
    /** BTRFS_TEMPORARY_ITEM_KEY (BTRFS_BALANCE_ITEM_KEY before 4.x): the balance item, (BALANCE_OBJECTID, 248, 0). */
    public static final int TEMPORARY_ITEM = 248;
    /** BTRFS_PERSISTENT_ITEM_KEY: the device tree's device statistics, (BTRFS_DEV_STATS_OBJECTID 0, 249, devid). */
    public static final int PERSISTENT_ITEM_KEY = 249;
    /** BTRFS_DEV_REPLACE_KEY: the device tree's dev-replace item, (0, 250, 0). */
    public static final int DEV_REPLACE_KEY = 250;
    /** BTRFS_UUID_KEY_SUBVOL: UUID tree, (first half of a subvolume's uuid, second half) → its subvolume ids. */
    public static final int UUID_KEY_SUBVOL = 251;
    /** BTRFS_UUID_KEY_RECEIVED_SUBVOL: UUID tree, a received_uuid → the subvolume ids carrying it. */
    public static final int UUID_KEY_RECEIVED_SUBVOL = 252;

    // object ids
    public static final long ROOT_TREE_OBJECTID = 1;
    public static final long EXTENT_TREE_OBJECTID = 2;
    public static final long CHUNK_TREE_OBJECTID = 3;
    /** BTRFS_DEV_TREE_OBJECTID: the device tree (dev extents, dev stats and the dev-replace item; the port keeps the last). */
    public static final long DEV_TREE_OBJECTID = 4;
    public static final long FS_TREE_OBJECTID = 5;
    public static final long CSUM_TREE_OBJECTID = 7;
    public static final long QUOTA_TREE_OBJECTID = 8;
    /** BTRFS_UUID_TREE_OBJECTID: the UUID tree (uuid → subvolume id), created by the kernel at the first RW mount. */
    public static final long UUID_TREE_OBJECTID = 9;
    /** BTRFS_FREE_SPACE_TREE_OBJECTID: the free space tree (space_cache=v2). */
    public static final long FREE_SPACE_TREE_OBJECTID = 10;
    public static final long FIRST_FREE_OBJECTID = 256;
    public static final long LAST_FREE_OBJECTID = -256L;
    /** BTRFS_BALANCE_OBJECTID (-4ULL): the root tree's balance item of a balance that has not ended. */
    public static final long BALANCE_OBJECTID = -4L;
    /** BTRFS_ORPHAN_OBJECTID (-5ULL): orphan items live under this objectid. */
    public static final long ORPHAN_OBJECTID = -5L;
    /** BTRFS_EXTENT_CSUM_OBJECTID (-10ULL): the csum tree's items. */
    public static final long EXTENT_CSUM_OBJECTID = -10L;
    /** BTRFS_FREE_SPACE_OBJECTID (-11ULL): v1 free space cache header items, (-11, 0, block group start). */
    public static final long FREE_SPACE_OBJECTID = -11L;
    /** BTRFS_BTREE_INODE_OBJECTID */
    public static final long BTREE_INODE_OBJECTID = 1;

    public static String name(int type) {
        return switch (type) {
            case INODE_ITEM -> "INODE_ITEM";
            case INODE_REF -> "INODE_REF";
            case DIR_ITEM -> "DIR_ITEM";
            case DIR_INDEX -> "DIR_INDEX";
            case EXTENT_DATA -> "EXTENT_DATA";
            case EXTENT_CSUM -> "EXTENT_CSUM";
            case ROOT_ITEM -> "ROOT_ITEM";
            case ROOT_BACKREF -> "ROOT_BACKREF";
            case ROOT_REF -> "ROOT_REF";
            case EXTENT_ITEM -> "EXTENT_ITEM";
            case METADATA_ITEM -> "METADATA_ITEM";
            case TREE_BLOCK_REF -> "TREE_BLOCK_REF";
            case EXTENT_DATA_REF -> "EXTENT_DATA_REF";
            case BLOCK_GROUP_ITEM -> "BLOCK_GROUP_ITEM";
            case QGROUP_STATUS -> "QGROUP_STATUS";
            case QGROUP_INFO -> "QGROUP_INFO";
            case QGROUP_LIMIT -> "QGROUP_LIMIT";
            case ORPHAN_ITEM -> "ORPHAN_ITEM";
            case UUID_KEY_SUBVOL -> "UUID_KEY_SUBVOL";
            case UUID_KEY_RECEIVED_SUBVOL -> "UUID_KEY_RECEIVED_SUBVOL";
            case FREE_SPACE_INFO -> "FREE_SPACE_INFO";
            case FREE_SPACE_EXTENT -> "FREE_SPACE_EXTENT";
            case FREE_SPACE_BITMAP -> "FREE_SPACE_BITMAP";
            default -> "TYPE_" + type;
        };
    }

    /**
     * kernel: is_fstree() — the top subvolume or a subvolume id (signed, as the kernel's (s64) test): the trees a
     * level-0 qgroup accounts and whose reference changes get a qgroup extent record.
     */
    public static boolean isFsTree(long rootid) {
        return rootid == FS_TREE_OBJECTID || rootid >= FIRST_FREE_OBJECTID;
    }
}
