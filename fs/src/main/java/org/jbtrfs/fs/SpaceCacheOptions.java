package org.jbtrfs.fs;

import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.core.disk.SuperBlock;
import org.jbtrfs.transaction.FsInfo;

/**
 * The free space cache part of btrfs_parse_options() in fs/btrfs/super.c (5.11): the defaults the
 * superblock implies, the options in the order given, and the checks and messages at its out: label.
 * Runs inside open_ctree (after the superblock is read) and btrfs_remount, on fs_info->mount_opt.
 */
final class SpaceCacheOptions {
    private SpaceCacheOptions() { }

    /**
     * kernel: btrfs_parse_options() — a free space tree on disk turns FREE_SPACE_TREE on, otherwise a non-zero
     * super cache_generation (mkfs.btrfs writes (u64)-1) turns SPACE_CACHE on; then each option, last one
     * wins; a filesystem with a free space tree refuses to lose it ("cannot disable free space tree",
     * EINVAL) unless clear_cache is given; success prints which cache is in use.
     */
    static void parse(FsInfo fs, List<String> options) {
        String dev = fs.sbId();
        if (fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE)) {
            fs.mountOpt.set(MountOpt.FREE_SPACE_TREE);
        } else if (fs.superCacheGeneration() != 0) {
            fs.mountOpt.set(MountOpt.SPACE_CACHE);
        }
        for (String p : options) {
            switch (p) {
                case "space_cache", "space_cache=v1" -> {
                    fs.mountOpt.clear(MountOpt.FREE_SPACE_TREE);
                    setAndInfo(fs, MountOpt.SPACE_CACHE, "enabling disk space caching");
                }
                case "space_cache=v2" -> {
                    fs.mountOpt.clear(MountOpt.SPACE_CACHE);
                    setAndInfo(fs, MountOpt.FREE_SPACE_TREE, "enabling free space tree");
                }
                case "nospace_cache" -> {
                    clearAndInfo(fs, MountOpt.SPACE_CACHE, "disabling disk space caching");
                    clearAndInfo(fs, MountOpt.FREE_SPACE_TREE, "disabling free space tree");
                }
                case "clear_cache" -> setAndInfo(fs, MountOpt.CLEAR_CACHE, "force clearing of disk cache");
                default -> throw new IllegalArgumentException("not a space cache option: " + p);
            }
        }
        // out:
        if (fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE) && !fs.mountOpt.test(MountOpt.FREE_SPACE_TREE)
            && !fs.mountOpt.test(MountOpt.CLEAR_CACHE)) {
            fs.log().error(dev, "cannot disable free space tree");
            throw new BtrfsException(Errno.EINVAL, "cannot disable free space tree on " + dev);
        }
        if (fs.mountOpt.test(MountOpt.SPACE_CACHE)) {
            fs.log().info(dev, "disk space caching is enabled");
        }
        if (fs.mountOpt.test(MountOpt.FREE_SPACE_TREE)) {
            fs.log().info(dev, "using free space tree");
        }
    }

    /**
     * kernel: the free space tree check btrfs_remount() makes after parsing (5.11, "warn when remount will not
     * change the free space tree") — only an RO→RW remount can create the tree; otherwise the options are put
     * back to what is on disk.
     */
    static void remountCheck(FsInfo fs, boolean wasRo, boolean wantRo) {
        boolean fst = fs.mountOpt.test(MountOpt.FREE_SPACE_TREE);
        if (fst != fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE) && (!wasRo || wantRo)) {
            fs.log().warn(fs.sbId(), "remount supports changing free space tree only from ro to rw");
            if (fs.compatRo(SuperBlock.COMPAT_RO_FREE_SPACE_TREE)) {
                fs.mountOpt.set(MountOpt.FREE_SPACE_TREE);
                fs.mountOpt.clear(MountOpt.SPACE_CACHE);
            }
            if (fs.freeSpaceCacheV1Active()) {
                fs.mountOpt.clear(MountOpt.FREE_SPACE_TREE);
                fs.mountOpt.set(MountOpt.SPACE_CACHE);
            }
        }
    }

    /** kernel: btrfs_clear_oneshot_options() — clear_cache lasts one mount or remount. */
    static void clearOneshot(FsInfo fs) { fs.mountOpt.clear(MountOpt.CLEAR_CACHE); }

    /** kernel: btrfs_set_and_info() — print only when the option changes. */
    private static void setAndInfo(FsInfo fs, MountOpt opt, String msg) {
        if (!fs.mountOpt.test(opt)) {
            fs.log().info(fs.sbId(), msg);
        }
        fs.mountOpt.set(opt);
    }

    /** kernel: btrfs_clear_and_info() */
    private static void clearAndInfo(FsInfo fs, MountOpt opt, String msg) {
        if (fs.mountOpt.test(opt)) {
            fs.log().info(fs.sbId(), msg);
        }
        fs.mountOpt.clear(opt);
    }
}
