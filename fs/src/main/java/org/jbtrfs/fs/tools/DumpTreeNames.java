package org.jbtrfs.fs.tools;

import java.util.HexFormat;
import java.util.Locale;
import org.jbtrfs.core.disk.BlockGroupItem;
import org.jbtrfs.core.disk.DirItem;
import org.jbtrfs.core.disk.InodeRef;
import org.jbtrfs.core.disk.RootRef;
import org.jbtrfs.core.disk.ExtentItem;
import org.jbtrfs.core.disk.FileExtentItem;
import org.jbtrfs.core.disk.InodeItem;
import org.jbtrfs.core.disk.ItemType;
import org.jbtrfs.core.disk.Le;
import org.jbtrfs.core.disk.Key;
import org.jbtrfs.core.disk.QgroupInfoItem;
import org.jbtrfs.core.disk.QgroupStatusItem;
import org.jbtrfs.core.disk.RootItem;

/** The names and item bodies btrfs-progs' dump-tree prints (print-tree.c), for the types the port writes. */
final class DumpTreeNames {
    private DumpTreeNames() { }

    /** print-tree.c's key type names; unknown ones print as "UNKNOWN.n". */
    static String typeName(int type) {
        return switch (type) {
            case 1 -> "INODE_ITEM";
            case 12 -> "INODE_REF";
            case 13 -> "INODE_EXTREF";
            case 24 -> "XATTR_ITEM";
            case 36 -> "VERITY_DESC_ITEM";
            case 37 -> "VERITY_MERKLE_ITEM";
            case 48 -> "ORPHAN_ITEM";
            case 60 -> "DIR_LOG_ITEM";
            case 72 -> "DIR_LOG_INDEX";
            case 84 -> "DIR_ITEM";
            case 96 -> "DIR_INDEX";
            case 108 -> "EXTENT_DATA";
            case 128 -> "EXTENT_CSUM";
            case 132 -> "ROOT_ITEM";
            case 144 -> "ROOT_BACKREF";
            case 156 -> "ROOT_REF";
            case 168 -> "EXTENT_ITEM";
            case 169 -> "METADATA_ITEM";
            case 176 -> "TREE_BLOCK_REF";
            case 178 -> "EXTENT_DATA_REF";
            case 180 -> "EXTENT_REF_V0";
            case 182 -> "SHARED_BLOCK_REF";
            case 184 -> "SHARED_DATA_REF";
            case 192 -> "BLOCK_GROUP_ITEM";
            case 198 -> "FREE_SPACE_INFO";
            case 199 -> "FREE_SPACE_EXTENT";
            case 200 -> "FREE_SPACE_BITMAP";
            case 204 -> "DEV_EXTENT";
            case 216 -> "DEV_ITEM";
            case 228 -> "CHUNK_ITEM";
            case 240 -> "QGROUP_STATUS";
            case 242 -> "QGROUP_INFO";
            case 244 -> "QGROUP_LIMIT";
            case 246 -> "QGROUP_RELATION";
            case 248 -> "TEMPORARY_ITEM";
            case 249 -> "PERSISTENT_ITEM";
            case 250 -> "DEV_REPLACE";
            case 251 -> "UUID_KEY_SUBVOL";
            case 252 -> "UUID_KEY_RECEIVED_SUBVOL";
            case 253 -> "STRING_ITEM";
            default -> "UNKNOWN." + type;
        };
    }

    /** print_objectid(): well-known tree and special objectids by name, others as numbers. */
    static String objectid(long id, int type) {
        if (type == ItemType.EXTENT_ITEM || type == ItemType.METADATA_ITEM || type == ItemType.BLOCK_GROUP_ITEM
            || type == ItemType.QGROUP_STATUS || type == ItemType.QGROUP_INFO || type == ItemType.QGROUP_LIMIT) {
            return Long.toUnsignedString(id);
        }
        return switch ((int) Math.min(Math.max(id, -300), 300)) {
            case 1 -> "ROOT_TREE";
            case 2 -> "EXTENT_TREE";
            case 3 -> "CHUNK_TREE";
            case 4 -> "DEV_TREE";
            case 5 -> "FS_TREE";
            case 6 -> "ROOT_TREE_DIR";
            case 7 -> "CSUM_TREE";
            case 8 -> "QUOTA_TREE";
            case 9 -> "UUID_TREE";
            case 10 -> "FREE_SPACE_TREE";
            case 11 -> "BLOCK_GROUP_TREE";
            case -4 -> "BALANCE";
            case -5 -> "ORPHAN";
            case -6 -> "TREE_LOG";
            case -7 -> "TREE_LOG_FIXUP";
            case -8 -> "TREE_RELOC";
            case -9 -> "DATA_RELOC_TREE";
            case -10 -> "EXTENT_CSUM";
            case -11 -> "FREE_SPACE";
            case -12 -> "FREE_INO";
            case -255 -> "MULTIPLE";
            case -1 -> "-1";
            default -> Long.toUnsignedString(id);
        };
    }

    /** "(FS_TREE ROOT_ITEM 0)", "(0 QGROUP_INFO 0/5)", "(ORPHAN ORPHAN_ITEM 256)". */
    static String key(Key k) {
        String off = k.type() == ItemType.QGROUP_INFO || k.type() == ItemType.QGROUP_LIMIT
            ? qgroupid(k.offset()) : Long.toUnsignedString(k.offset());
        return "(" + objectid(k.objectid(), k.type()) + " " + typeName(k.type()) + " " + off + ")";
    }

    /** "0/5": level / id. */
    static String qgroupid(long id) { return (id >>> 48) + "/" + (id & 0xffffffffffffL); }

    static String treeHeading(long id) {
        return switch ((int) Math.min(Math.max(id, -300), 300)) {
            case 1 -> "root tree";
            case 2 -> "extent tree key (EXTENT_TREE ROOT_ITEM 0) ";
            case 4 -> "device tree key (DEV_TREE ROOT_ITEM 0) ";
            case 5 -> "fs tree key (FS_TREE ROOT_ITEM 0) ";
            case 7 -> "checksum tree key (CSUM_TREE ROOT_ITEM 0) ";
            case 8 -> "quota tree key (QUOTA_TREE ROOT_ITEM 0) ";
            case 9 -> "uuid tree key (UUID_TREE ROOT_ITEM 0) ";
            default -> "file tree key (" + objectid(id, ItemType.ROOT_ITEM) + " ROOT_ITEM 0) ";
        };
    }

    static String treeName(long id) {
        return switch ((int) Math.min(Math.max(id, -300), 300)) {
            case 1 -> "root tree";
            case 2 -> "extent tree";
            case 4 -> "device tree";
            case 5 -> "fs tree";
            case 7 -> "checksum tree";
            case 8 -> "quota tree";
            case 9 -> "uuid tree";
            default -> "file tree (" + Long.toUnsignedString(id) + ")";
        };
    }

    static String uuid(byte[] b) {
        String h = HexFormat.of().formatHex(b);
        return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20) + "-" + h.substring(20);
    }

    /** The item's body lines, tab-indented twice as dump-tree prints them. */
    static void body(DumpTree.Item it, StringBuilder t) {
        Object v = it.value();
        if (v instanceof RootItem r) {
            t.append(String.format(Locale.ROOT, "\t\tgeneration %d root_dirid %d bytenr %d byte_limit 0 bytes_used %d%n",
                r.generation(), r.rootDirid(), r.bytenr(), r.bytesUsed()));
            t.append(String.format(Locale.ROOT, "\t\tlast_snapshot %d flags 0x%x(%s) refs %d%n", r.lastSnapshot(), r.flags(),
                (r.flags() & 1) != 0 ? "RDONLY" : "none", r.refs()));
            t.append(String.format(Locale.ROOT, "\t\tdrop_progress key %s drop_level %d%n", dropKey(r.dropProgress()), r.dropLevel()));
            t.append(String.format(Locale.ROOT, "\t\tlevel %d%n", r.level()));
            if (r.hasUuid()) {
                t.append("\t\tuuid ").append(uuid(r.uuid())).append('\n');
            }
            if (r.hasReceivedUuid()) {
                t.append("\t\treceived_uuid ").append(uuid(r.receivedUuid())).append('\n');
            }
        } else if ((it.key().type() == ItemType.UUID_KEY_SUBVOL || it.key().type() == ItemType.UUID_KEY_RECEIVED_SUBVOL)
            && v instanceof DumpTree.Raw raw && raw.data().length % 8 == 0) {
            // print_uuid_item: one line per subvolume id
            for (int off = 0; off < raw.data().length; off += 8) {
                t.append("\t\tsubvol_id ").append(Le.u64(raw.data(), off)).append('\n');
            }
        } else if (v instanceof DumpTree.Orphan) {
            t.append("\t\torphan item\n");
        } else if (v instanceof InodeItem i) {
            t.append(String.format(Locale.ROOT, "\t\tgeneration %d transid %d size %d nbytes %d%n", i.generation(), i.transid(),
                i.size(), i.nbytes()));
            t.append(String.format(Locale.ROOT, "\t\tblock group 0 mode %o links %d uid 0 gid 0 rdev 0%n", i.mode(), i.nlink()));
        } else if (v instanceof DirItem d) {
            t.append(String.format(Locale.ROOT, "\t\tlocation key %s type %s%n", key(d.location()),
                d.type() == DirItem.FT_DIR ? "DIR" : d.type() == DirItem.FT_REG_FILE ? "FILE" : "UNKNOWN." + d.type()));
            t.append(String.format(Locale.ROOT, "\t\ttransid 0 data_len 0 name_len %d%n", d.name().getBytes(java.nio.charset.StandardCharsets.UTF_8).length));
            t.append("\t\tname: ").append(d.name()).append('\n');
        } else if (v instanceof InodeRef r) {
            // btrfs-progs print-tree.c print_inode_ref_item
            t.append(String.format(Locale.ROOT, "\t\tindex %d namelen %d name: %s%n", r.index(),
                r.name().getBytes(java.nio.charset.StandardCharsets.UTF_8).length, r.name()));
        } else if (v instanceof RootRef r) {
            // print_root_ref
            t.append(String.format(Locale.ROOT, "\t\troot %s key dirid %d sequence %d name %s%n",
                it.key().type() == ItemType.ROOT_REF ? "ref" : "backref", r.dirid(), r.sequence(), r.name()));
        } else if (v instanceof FileExtentItem f) {
            t.append(String.format(Locale.ROOT, "\t\tgeneration %d type 1 (regular)%n", f.generation()));
            t.append(String.format(Locale.ROOT, "\t\textent data disk byte %d nr %d%n", f.diskBytenr(), f.diskNumBytes()));
            t.append(String.format(Locale.ROOT, "\t\textent data offset %d nr %d ram %d%n", f.offset(), f.numBytes(), f.diskNumBytes()));
        } else if (v instanceof ExtentItem e) {
            t.append(String.format(Locale.ROOT, "\t\trefs %d gen %d flags %s%n", e.refs(), e.generation(),
                e.isTreeBlock() ? "TREE_BLOCK" : "DATA"));
            if (e.isTreeBlock()) {
                t.append(String.format(Locale.ROOT, "\t\ttree block skinny level %d%n", e.level()));
                t.append("\t\ttree block backref root ").append(objectid(e.ownerRoot(), ItemType.ROOT_ITEM)).append('\n');
            } else {
                t.append("\t\textent data backref root ").append(objectid(e.ownerRoot(), ItemType.ROOT_ITEM)).append('\n');
            }
        } else if (v instanceof BlockGroupItem b) {
            t.append(String.format(Locale.ROOT, "\t\tblock group used %d chunk_objectid %d flags %s%n", b.used(), b.chunkObjectid(),
                blockGroupFlags(b.flags())));
        } else if (v instanceof QgroupStatusItem s) {
            t.append(String.format(Locale.ROOT, "\t\tversion %d generation %d flags %s scan %d%n", s.version(), s.generation(),
                qgroupStatusFlags(s.flags()), s.rescan()));
        } else if (v instanceof QgroupInfoItem q) {
            t.append(String.format(Locale.ROOT, "\t\tgeneration %d%n", q.generation()));
            t.append(String.format(Locale.ROOT, "\t\treferenced %d referenced_compressed %d%n", q.rfer(), q.rferCmpr()));
            t.append(String.format(Locale.ROOT, "\t\texclusive %d exclusive_compressed %d%n", q.excl(), q.exclCmpr()));
        } else if (v instanceof DumpTree.Raw raw) {
            t.append("\t\tundecoded item, ").append(raw.data().length).append(" bytes");
            if (raw.data().length > 0) {
                t.append(": ").append(HexFormat.of().formatHex(raw.data(), 0, Math.min(raw.data().length, 64)));
                if (raw.data().length > 64) {
                    t.append("...");
                }
            }
            t.append('\n');
        }
    }

    /** dump-tree prints an unset drop_progress as "(0 UNKNOWN.0 0)". */
    private static String dropKey(Key k) {
        return "(" + objectid(k.objectid(), k.type()) + " " + typeName(k.type()) + " " + Long.toUnsignedString(k.offset()) + ")";
    }

    /** "ON", "ON|RESCAN", "ON|RESCAN|INCONSISTENT" (progs prints the flags it knows joined by '|'). */
    static String qgroupStatusFlags(long flags) {
        StringBuilder s = new StringBuilder();
        if ((flags & QgroupStatusItem.FLAG_ON) != 0) {
            s.append("ON");
        }
        if ((flags & QgroupStatusItem.FLAG_RESCAN) != 0) {
            s.append(s.length() > 0 ? "|" : "").append("RESCAN");
        }
        if ((flags & QgroupStatusItem.FLAG_INCONSISTENT) != 0) {
            s.append(s.length() > 0 ? "|" : "").append("INCONSISTENT");
        }
        return s.length() == 0 ? "OFF" : s.toString();
    }

    static String blockGroupFlags(long flags) {
        StringBuilder s = new StringBuilder();
        if ((flags & BlockGroupItem.TYPE_DATA) != 0) {
            s.append("DATA");
        }
        if ((flags & BlockGroupItem.TYPE_SYSTEM) != 0) {
            s.append(s.length() > 0 ? "|" : "").append("SYSTEM");
        }
        if ((flags & BlockGroupItem.TYPE_METADATA) != 0) {
            s.append(s.length() > 0 ? "|" : "").append("METADATA");
        }
        return s.length() == 0 ? "0x" + Long.toHexString(flags) : s.toString();
    }
}
