package org.jbtrfs.fs;

import java.util.ArrayList;
import java.util.List;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.Errno;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.core.kernel.MountOpt;
import org.jbtrfs.transaction.FsInfo;

/**
 * Mount options: the VFS's ro/rw and the btrfs options the port models (btrfs_parse_options in
 * fs/btrfs/super.c). Anything else is rejected the way the kernel does: "unrecognized mount option".
 *
 * @param readOnly       "ro" (SB_RDONLY); "rw" clears it; the last one wins
 * @param commitInterval seconds, or -1 when not given (keep the current value)
 * @param spaceCache     the free space cache options in the order given (space_cache, space_cache=v1,
 *                       space_cache=v2, nospace_cache, clear_cache); {@link SpaceCacheOptions} applies them
 *                       inside open_ctree / btrfs_remount, where the superblock is known
 * @param compress       the compression options in the order given (compress, compress=TYPE, compress-force,
 *                       compress-force=TYPE), each value already checked; {@link CompressOptions} applies them
 * @param autodefrag     "autodefrag" (true) or "noautodefrag" (false), the last one given; null when neither
 * @param rescanUuidTree "rescan_uuid_tree": the next open_ctree checks the UUID tree whatever its generation says
 * @param discard        the discard options in the order given (discard, discard=sync, discard=async, nodiscard)
 * @param skipBalance    "skip_balance": a paused balance is not resumed by a read-write mount or an RO→RW remount
 * @param threadPool     "thread_pool=N": fs_info->thread_pool_size, the max_active of the workqueues; 0 when not given
 * @param flushOnCommit  "flushoncommit" (true) or "noflushoncommit" (false), the last one given; null when neither
 */
record MountOptions(boolean readOnly, int commitInterval, String raw, List<String> spaceCache, List<String> compress,
                    Boolean autodefrag, boolean rescanUuidTree, List<String> discard, boolean skipBalance,
                    int threadPool, Boolean flushOnCommit) {
    /** Options the VFS or btrfs accept but the port does not model; accepted and ignored. */
    private static final List<String> IGNORED = List.of("noatime", "relatime", "defaults",
        "ssd", "nossd", "enospc_debug", "noenospc_debug");

    /**
     * kernel: btrfs_parse_options()' Opt_defrag / Opt_nodefrag — btrfs_set_and_info(AUTO_DEFRAG, "enabling auto defrag")
     * or btrfs_clear_and_info(AUTO_DEFRAG, "disabling auto defrag"): the message only when the bit changes.
     */
    static void applyAutodefrag(FsInfo fs, Boolean autodefrag) {
        if (autodefrag == null) {
            return;
        }
        boolean was = fs.mountOpt.test(MountOpt.AUTO_DEFRAG);
        if (autodefrag && !was) {
            fs.log().info(fs.sbId(), "enabling auto defrag");
            fs.mountOpt.set(MountOpt.AUTO_DEFRAG);
        } else if (!autodefrag && was) {
            fs.log().info(fs.sbId(), "disabling auto defrag");
            fs.mountOpt.clear(MountOpt.AUTO_DEFRAG);
        }
    }

    /**
     * kernel: btrfs_parse_options()' Opt_flushoncommit / Opt_noflushoncommit — btrfs_set_and_info(FLUSHONCOMMIT,
     * "turning on flush-on-commit") or btrfs_clear_and_info(FLUSHONCOMMIT, "turning off flush-on-commit").
     */
    static void applyFlushOnCommit(FsInfo fs, Boolean flushOnCommit) {
        if (flushOnCommit == null) {
            return;
        }
        if (flushOnCommit) {
            setAndInfo(fs, MountOpt.FLUSHONCOMMIT, "turning on flush-on-commit");
        } else {
            clearAndInfo(fs, MountOpt.FLUSHONCOMMIT, "turning off flush-on-commit");
        }
    }

    /** kernel: btrfs_parse_options()' Opt_rescan_uuid_tree — btrfs_set_opt(RESCAN_UUID_TREE), no message. */
    static void applyRescanUuidTree(FsInfo fs, boolean rescan) {
        if (rescan) {
            fs.mountOpt.set(MountOpt.RESCAN_UUID_TREE);
        }
    }

    /** kernel: btrfs_parse_options()' Opt_skip_balance — btrfs_set_opt(SKIP_BALANCE), no message. */
    static void applySkipBalance(FsInfo fs, boolean skip) {
        if (skip) {
            fs.mountOpt.set(MountOpt.SKIP_BALANCE);
        }
    }

    /**
     * kernel: btrfs_parse_options()' Opt_discard, Opt_discard_mode, Opt_nodiscard — sync and async exclude each other;
     * the messages only when a bit changes (btrfs_set_and_info / btrfs_clear_and_info).
     */
    static void applyDiscard(FsInfo fs, List<String> discard) {
        for (String p : discard) {
            if (p.equals("nodiscard")) {
                clearAndInfo(fs, MountOpt.DISCARD_SYNC, "turning off discard");
                clearAndInfo(fs, MountOpt.DISCARD_ASYNC, "turning off async discard");
            } else if (p.equals("discard=async")) {
                fs.mountOpt.clear(MountOpt.DISCARD_SYNC);
                setAndInfo(fs, MountOpt.DISCARD_ASYNC, "turning on async discard");
            } else {
                fs.mountOpt.clear(MountOpt.DISCARD_ASYNC);
                setAndInfo(fs, MountOpt.DISCARD_SYNC, "turning on sync discard");
            }
        }
    }

    private static void setAndInfo(FsInfo fs, MountOpt o, String message) {
        if (!fs.mountOpt.test(o)) {
            fs.log().info(fs.sbId(), message);
            fs.mountOpt.set(o);
        }
    }

    private static void clearAndInfo(FsInfo fs, MountOpt o, String message) {
        if (fs.mountOpt.test(o)) {
            fs.log().info(fs.sbId(), message);
            fs.mountOpt.clear(o);
        }
    }

    /** The VFS's view of an option string: does it ask for a read-only superblock (the last ro/rw wins)? */
    static boolean wantsReadOnly(String options) {
        boolean ro = false;
        for (String p : (options == null ? "" : options).split(",")) {
            if (p.trim().equals("ro")) {
                ro = true;
            } else if (p.trim().equals("rw")) {
                ro = false;
            }
        }
        return ro;
    }

    /**
     * kernel: btrfs_parse_options() (and the VFS's ro/rw) — rejects an unknown option with
     * EINVAL "unrecognized mount option" and a bad commit= value with EINVAL "unrecognized
     * commit_interval value"; logs the kernel's messages for commit=0 and commit > 300.
     */
    static MountOptions parse(String options, KernelLog log, String device) {
        boolean ro = false;
        int commit = -1;
        List<String> spaceCache = new ArrayList<>();
        List<String> compress = new ArrayList<>();
        Boolean autodefrag = null;
        boolean rescanUuidTree = false;
        boolean skipBalance = false;
        int threadPool = 0;
        Boolean flushOnCommit = null;
        List<String> discard = new ArrayList<>();
        String raw = options == null ? "" : options.trim();
        List<String> parts = new ArrayList<>();
        for (String p : raw.split(",")) {
            if (!p.isBlank()) {
                parts.add(p.trim());
            }
        }
        for (String p : parts) {
            if (p.equals("ro")) {
                ro = true;
            } else if (p.equals("rw")) {
                ro = false;
            } else if (p.startsWith("commit=")) {
                String v = p.substring("commit=".length());
                int n;
                try {
                    n = Integer.parseInt(v);
                } catch (NumberFormatException e) {
                    log.error(device, "unrecognized commit_interval value " + v);
                    throw new BtrfsException(Errno.EINVAL, "unrecognized commit_interval value '" + v + "'");
                }
                if (n < 0) {
                    log.error(device, "unrecognized commit_interval value " + v);
                    throw new BtrfsException(Errno.EINVAL, "unrecognized commit_interval value '" + v + "'");
                }
                if (n == 0) {
                    log.info(device, "using default commit interval " + FsInfo.DEFAULT_COMMIT_INTERVAL + "s");
                    n = FsInfo.DEFAULT_COMMIT_INTERVAL;
                } else if (n > 300) {
                    log.warn(device, "excessive commit interval " + n);
                }
                commit = n;
            } else if (p.equals("space_cache") || p.equals("nospace_cache") || p.equals("clear_cache")) {
                spaceCache.add(p);
            } else if (p.startsWith("space_cache=")) {
                // Opt_space_cache_version: only v1 and v2; anything else is -EINVAL with no message at all
                // (btrfs_parse_options jumps to out: without printing)
                String v = p.substring("space_cache=".length());
                if (!v.equals("v1") && !v.equals("v2")) {
                    throw new BtrfsException(Errno.EINVAL, "invalid space_cache version '" + v + "' (only v1 and v2)");
                }
                spaceCache.add(p);
            } else if (p.equals("discard") || p.equals("nodiscard") || p.startsWith("discard=")) {
                if (p.startsWith("discard=") && !p.equals("discard=sync") && !p.equals("discard=async")) {
                    // Opt_discard_mode with another value: -EINVAL without a message
                    throw new BtrfsException(Errno.EINVAL, "invalid discard mode '" + p.substring("discard=".length())
                        + "' (only sync and async)");
                }
                discard.add(p);
            } else if (p.startsWith("thread_pool=") && threadPoolToken(p.substring("thread_pool=".length())) != null) {
                threadPool = threadPool(threadPoolToken(p.substring("thread_pool=".length())), p);
            } else if (p.equals("flushoncommit") || p.equals("noflushoncommit")) {
                flushOnCommit = p.equals("flushoncommit"); // Opt_flushoncommit, Opt_noflushoncommit
            } else if (p.equals("rescan_uuid_tree")) {
                rescanUuidTree = true; // Opt_rescan_uuid_tree
            } else if (p.equals("skip_balance")) {
                skipBalance = true; // Opt_skip_balance
            } else if (p.equals("autodefrag") || p.equals("noautodefrag")) {
                autodefrag = p.equals("autodefrag"); // Opt_defrag, Opt_nodefrag
            } else if (CompressOptions.isCompressOption(p)) {
                CompressOptions.check(p); // Opt_compress*: an unknown type is -EINVAL without a message
                compress.add(p);
            } else if (p.startsWith("subvol=") && p.length() > "subvol=".length()
                || p.startsWith("subvolid=") && p.length() > "subvolid=".length()) {
                // Opt_subvol, Opt_subvolid: parsed by btrfs_parse_subvol_options (MountSubvol), ignored here
            } else if (!IGNORED.contains(p)) {
                log.error(device, "unrecognized mount option '" + p + "'");
                throw new BtrfsException(Errno.EINVAL, "unrecognized mount option '" + p + "'");
            }
        }
        return new MountOptions(ro, commit, raw, List.copyOf(spaceCache), List.copyOf(compress), autodefrag,
            rescanUuidTree, List.copyOf(discard), skipBalance, threadPool, flushOnCommit);
    }

    /**
     * match_token()'s "%u" for Opt_thread_pool's "thread_pool=%u": simple_strtoul with base 0 (decimal, 0x hex, a
     * leading 0 octal) must take the whole value, else the token does not match and the option is unrecognized;
     * null then. The value, saturated at Long.MAX_VALUE (match_int below refuses anything beyond INT_MAX anyway).
     */
    private static Long threadPoolToken(String v) {
        int radix = 10;
        String digits = v;
        if (v.length() > 2 && (v.startsWith("0x") || v.startsWith("0X"))) {
            radix = 16;
            digits = v.substring(2);
        } else if (v.length() > 1 && v.startsWith("0")) {
            radix = 8;
            digits = v.substring(1);
        }
        if (digits.isEmpty()) {
            return null;
        }
        long n = 0;
        for (char c : digits.toCharArray()) {
            int d = Character.digit(c, radix);
            if (d < 0) {
                return null;
            }
            n = n > (Long.MAX_VALUE - d) / radix ? Long.MAX_VALUE : n * radix + d;
        }
        return n;
    }

    /**
     * kernel: btrfs_parse_options()' Opt_thread_pool — match_int: -ERANGE beyond INT_MAX; 0 is -EINVAL; neither with a
     * message in 5.11 (the function jumps to out:).
     */
    private static int threadPool(long n, String option) {
        if (n > Integer.MAX_VALUE) {
            throw new BtrfsException(Errno.ERANGE, "thread_pool value out of range in '" + option + "'");
        }
        if (n == 0) {
            throw new BtrfsException(Errno.EINVAL, "invalid value 0 for thread_pool");
        }
        return (int) n;
    }
}
