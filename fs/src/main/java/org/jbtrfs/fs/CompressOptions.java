package org.jbtrfs.fs;

import java.util.List;
import java.util.Locale;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.transaction.FsInfo;

/**
 * The compression mount options (Opt_compress, Opt_compress_type, Opt_compress_force, Opt_compress_force_type in
 * btrfs_parse_options, fs/btrfs/super.c 5.11): which type, forced or not, or "no". The port compresses for the cost
 * only; what reaches the disk is the data as given (see {@link Writeback}).
 */
final class CompressOptions {
    private CompressOptions() { }

    static boolean isCompressOption(String p) {
        return p.equals("compress") || p.equals("compress-force") || p.startsWith("compress=") || p.startsWith("compress-force=");
    }

    /** The value's check at parse time: zlib[:level], lzo, zstd[:level] or anything starting "no"; else EINVAL, no message. */
    static void check(String p) {
        String v = value(p);
        if (v == null || v.startsWith("no") || type(v) != null) {
            return;
        }
        throw new BtrfsException(Errno.EINVAL, "unrecognized compression value '" + v + "' in '" + p + "'");
    }

    /**
     * kernel: btrfs_parse_options(), the compression cases — sets or clears COMPRESS and FORCE_COMPRESS and
     * fs_info->compress_type, and logs "use|force TYPE compression, level N" when the choice changed, "use no
     * compression" for compress=no.
     */
    static void apply(FsInfo fs, List<String> options) {
        for (String p : options) {
            boolean force = p.startsWith("compress-force");
            String v = value(p);
            String savedType = fs.compressType();
            boolean savedOn = fs.mountOpt.test(MountOpt.COMPRESS);
            boolean savedForce = fs.mountOpt.test(MountOpt.FORCE_COMPRESS);
            if (v != null && v.startsWith("no")) {
                fs.mountOpt.clear(MountOpt.COMPRESS);
                fs.mountOpt.clear(MountOpt.FORCE_COMPRESS);
                fs.log().info(fs.sbId(), "use no compression");
                continue;
            }
            String type = v == null ? "zlib" : type(v);
            fs.setCompressType(type);
            fs.mountOpt.set(MountOpt.COMPRESS);
            if (force) {
                fs.mountOpt.set(MountOpt.FORCE_COMPRESS);
            } else {
                fs.mountOpt.clear(MountOpt.FORCE_COMPRESS); // remount from compress-force=x to compress=x
            }
            if (!savedOn || !type.equals(savedType) || force != savedForce) {
                fs.log().info(fs.sbId(), String.format(Locale.ROOT, "%s %s compression, level %d", force ? "force" : "use",
                    type, level(type, v)));
            }
        }
    }

    private static String value(String p) {
        int eq = p.indexOf('=');
        return eq < 0 ? null : p.substring(eq + 1);
    }

    /** "zlib", "lzo" or "zstd" for a value the kernel takes (by its prefix, as btrfs_parse_options' strncmp), else null. */
    private static String type(String v) {
        for (String t : List.of("zlib", "lzo", "zstd")) {
            if (v.startsWith(t)) {
                return t;
            }
        }
        return null;
    }

    /** btrfs_compress_str2level(): ":N" after zlib or zstd, else the type's default (zlib 3, zstd 3, lzo 0). */
    private static int level(String type, String v) {
        if (type.equals("lzo")) {
            return 0;
        }
        if (v != null && v.length() > type.length() + 1 && v.charAt(type.length()) == ':') {
            try {
                return Integer.parseInt(v.substring(type.length() + 1));
            } catch (NumberFormatException e) {
                return 3;
            }
        }
        return 3;
    }
}
