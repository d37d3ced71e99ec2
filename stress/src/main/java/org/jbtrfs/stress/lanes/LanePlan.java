package org.jbtrfs.stress.lanes;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.StressOptions;

/**
 * A lanes cycle's plan, drawn from the cycle seed: which lanes run besides the lifecycle lane, how many
 * lifecycle steps, the commit interval of the mount (small, the kernel's own commit=N: a stall that waits
 * for the transaction kthread's next loop then lasts at most N seconds, and a hang stays a hang), and
 * whether the cycle starts with an RO mount, and whether its mounts compress (-o compress: data writeback through the
 * delalloc workqueue's async chunks) and defragment (-o autodefrag: small writes queue their inode, the cleaner
 * re-dirties its small extents), and whether its mounts ask for a UUID tree rescan (-o rescan_uuid_tree, stop 32: the
 * btrfs-uuid kthread then runs alongside the lanes after every read-write mount), and whether they discard
 * asynchronously (-o discard=async, stop 33: freed space goes to the btrfs_discard delayed work, emptied block groups
 * reach the cleaner only once discarded, and umount and RO remounts stop it), and which free-space cache they ask for
 * ({@link #spaceCache}, stop 34), and whether the cycle ends with a power cut ({@link #powerCut}, stop 35), and the
 * size of its workqueues ({@link #threadPool}, stop 67), and whether its commits flush the data ({@link #flushOnCommit},
 * stop 67).
 *
 * @param threadPool    thread_pool=N of the cycle's mounts (fs_info->thread_pool_size: max_active of the btrfs
 *                      workqueues, down to one kworker each), 0 for the default
 * @param flushOnCommit -o flushoncommit: every commit writes back the dirty inodes and waits for their ordered extents
 */
record LanePlan(Set<LaneKind> lanes, int lifecycleSteps, int commit, boolean startRo, int maxLaneSteps, double orphanItemFault,
                long faultSeed, boolean compress, boolean freeze, boolean autodefrag, boolean rescanUuid, boolean discard,
                String spaceCache, boolean powerCut, int threadPool, boolean flushOnCommit) {

    /** A plan without compression, freezes, autodefrag, the UUID rescan, async discard or a free-space cache option (tests). */
    LanePlan(Set<LaneKind> lanes, int lifecycleSteps, int commit, boolean startRo, int maxLaneSteps, double orphanItemFault,
             long faultSeed) {
        this(lanes, lifecycleSteps, commit, startRo, maxLaneSteps, orphanItemFault, faultSeed, false, false, false, false, false, "",
            false, 0, false);
    }

    /** How often a cycle mounts with -o flushoncommit. */
    static final double P_FLUSHONCOMMIT = 0.2;

    /** How often a cycle's mounts ask for a small thread_pool (1 to {@link #MAX_THREAD_POOL} kworkers per workqueue). */
    static final double P_THREAD_POOL = 0.2;

    /** The largest thread_pool=N a cycle or a remount asks for: at most the default of a 2-CPU machine (4). */
    static final int MAX_THREAD_POOL = 4;

    /**
     * How often a cycle ends with a power cut instead of a clean umount: fstests' {@code _flakey_drop_and_remount}
     * (dm-flakey's drop_writes, umount, allow writes), the next cycle of the epoch mounting what the last commit before
     * the cut left — orphan items of files unlinked while open, deleted subvolumes not yet dropped, a qgroup rescan in
     * progress, free-space caches and a UUID tree of an older generation — through open_ctree's recovery paths.
     */
    static final double P_POWER_CUT = 0.2;

    /**
     * How often a cycle's mounts ask for a free-space cache other than the one on disk. The epoch's filesystem lives on
     * from cycle to cycle, so it goes back and forth between them as an administrator's would: space_cache=v2 creates the
     * free space tree (a read-write mount, or in 5.11 an RO→RW remount: btrfs_start_pre_rw_mount) and marks every v1
     * cache inode for removal (orphans, delayed iputs for the cleaner); clear_cache drops the tree or the v1 caches and
     * rebuilds them; nospace_cache removes the v1 inodes (with clear_cache, so that a filesystem with the tree, which
     * refuses to lose it otherwise, EINVAL, takes it too).
     */
    static final double P_SPACE_CACHE = 0.3;

    /** The free-space cache options a cycle may ask for, equally often. */
    static final java.util.List<String> SPACE_CACHE_OPTIONS = java.util.List.of("space_cache=v2", "clear_cache,space_cache=v1",
        "clear_cache,nospace_cache", "clear_cache");

    /** How often a cycle mounts with -o discard=async. */
    static final double P_DISCARD = 0.3;

    /** How often a cycle mounts with -o rescan_uuid_tree. */
    static final double P_RESCAN_UUID = 0.2;

    /** How often a cycle mounts with -o autodefrag. */
    static final double P_AUTODEFRAG = 0.3;

    /** How often a cycle's lifecycle lane may freeze the filesystem (fsfreeze -f ... -u: generic/068's shape). */
    static final double P_FREEZE = 0.3;

    /** How often a cycle with the file lane runs the second writer beside it (stop 60). */
    static final double P_SECOND_WRITER = 0.5;

    /** How often a cycle runs the scrub lane (stop 52). */
    static final double P_SCRUB = 0.25;

    /** How often a cycle runs the balance lane, and the second balance process beside it (stop 64). */
    static final double P_BALANCE = 0.25;

    /** How often a cycle runs the replace lane (stop 65). */
    static final double P_REPLACE = 0.25;

    /** How often a cycle mounts with -o compress. */
    static final double P_COMPRESS = 0.3;

    /**
     * The mount options of this cycle's mounts: ro or not, its commit interval, compression, autodefrag, UUID rescan, async
     * discard, the free-space cache option.
     */
    String mountOptions(boolean ro) {
        return (ro ? "ro," : "") + "commit=" + commit + (compress ? ",compress" : "") + (autodefrag ? ",autodefrag" : "")
            + (rescanUuid ? ",rescan_uuid_tree" : "") + (discard ? ",discard=async" : "")
            + (threadPool > 0 ? ",thread_pool=" + threadPool : "") + (flushOnCommit ? ",flushoncommit" : "")
            + (spaceCache.isEmpty() ? "" : "," + spaceCache);
    }

    /** Every lane allowed. */
    static LanePlan of(long cycleSeed, long epochCycle) { return of(cycleSeed, epochCycle, StressOptions.LANES); }

    /**
     * The plan of a cycle that may run only {@code allowed} lanes ({@code --lanes}): drawn as with every
     * lane allowed, then the others dropped, so a cycle's other choices do not depend on {@code --lanes}.
     */
    static LanePlan of(long cycleSeed, long epochCycle, java.util.List<String> allowed) {
        SplittableRandom r = Seeds.stream(cycleSeed, "lanes");
        Set<LaneKind> l = EnumSet.of(LaneKind.LIFECYCLE);
        if (r.nextDouble() < 0.85) {
            l.add(LaneKind.FILE);
        }
        if (r.nextDouble() < 0.6) {
            l.add(LaneKind.SUBVOLUME);
        }
        if (r.nextDouble() < 0.5) {
            l.add(LaneKind.QUOTA);
        }
        if (r.nextDouble() < 0.4) {
            l.add(LaneKind.SYNC);
        }
        if (r.nextDouble() < 0.3) {
            l.add(LaneKind.DEVICE2);
        }
        int steps = 2 + r.nextInt(6);
        // mostly commit=1: a stall that waits for the transaction kthread's next loop lasts at most a second
        int commit = r.nextDouble() < 0.7 ? 1 : 2 + r.nextInt(2);
        boolean ro = epochCycle > 0 && r.nextDouble() < 0.15;
        // drop_snapshot's ignored btrfs_del_orphan_item failure (patch 2/5's stray orphan item), some cycles
        double fault = r.nextDouble() < 0.4 ? 0.5 : 0;
        // drawn from a stream of its own (added after the plans above were fixed: every seed's other choices stay)
        if (l.contains(LaneKind.QUOTA) && Seeds.stream(cycleSeed, "lanes:quota2").nextDouble() < 0.5) {
            l.add(LaneKind.QUOTA2);
        }
        // stop 52, its own stream as well
        if (Seeds.stream(cycleSeed, "lanes:scrub").nextDouble() < P_SCRUB) {
            l.add(LaneKind.SCRUB);
        }
        // stop 60, its own stream as well
        if (l.contains(LaneKind.FILE) && Seeds.stream(cycleSeed, "lanes:file2").nextDouble() < P_SECOND_WRITER) {
            l.add(LaneKind.FILE2);
        }
        // stop 64, its own stream as well
        SplittableRandom bal = Seeds.stream(cycleSeed, "lanes:balance");
        if (bal.nextDouble() < P_BALANCE) {
            l.add(LaneKind.BALANCE);
            if (bal.nextDouble() < 0.8) {
                l.add(LaneKind.BALANCE2);
            }
        }
        // stop 65, its own stream as well
        if (Seeds.stream(cycleSeed, "lanes:replace").nextDouble() < P_REPLACE) {
            l.add(LaneKind.REPLACE);
        }
        l.removeIf(k -> !allowed.contains(k.label) && k != LaneKind.LIFECYCLE);
        if (!l.contains(LaneKind.BALANCE)) {
            l.remove(LaneKind.BALANCE2);
        }
        // stop 28, its own stream as well
        boolean compress = Seeds.stream(cycleSeed, "lanes:compress").nextDouble() < P_COMPRESS;
        // stop 29, its own stream as well
        boolean freeze = Seeds.stream(cycleSeed, "lanes:freeze").nextDouble() < P_FREEZE;
        // stop 31, its own stream as well
        boolean autodefrag = Seeds.stream(cycleSeed, "lanes:autodefrag").nextDouble() < P_AUTODEFRAG;
        // stop 32, its own stream: the other draws (and earlier replay tokens' choices) stay what they were
        boolean rescanUuid = Seeds.stream(cycleSeed, "lanes:rescan-uuid").nextDouble() < P_RESCAN_UUID;
        // stop 33, its own stream as well
        boolean discard = Seeds.stream(cycleSeed, "lanes:discard").nextDouble() < P_DISCARD;
        // stop 34, its own stream as well
        SplittableRandom sc = Seeds.stream(cycleSeed, "lanes:space-cache");
        String spaceCache = sc.nextDouble() < P_SPACE_CACHE ? SPACE_CACHE_OPTIONS.get(sc.nextInt(SPACE_CACHE_OPTIONS.size())) : "";
        // stop 35, its own stream as well
        boolean powerCut = Seeds.stream(cycleSeed, "lanes:power-cut").nextDouble() < P_POWER_CUT;
        // stop 67, its own stream as well
        SplittableRandom tp = Seeds.stream(cycleSeed, "lanes:thread-pool");
        int threadPool = tp.nextDouble() < P_THREAD_POOL ? 1 + tp.nextInt(MAX_THREAD_POOL) : 0;
        // stop 67, its own stream as well
        boolean flushOnCommit = Seeds.stream(cycleSeed, "lanes:flushoncommit").nextDouble() < P_FLUSHONCOMMIT;
        return new LanePlan(l, steps, commit, ro, 6 + r.nextInt(18), fault, r.nextLong(), compress, freeze, autodefrag,
            rescanUuid, discard, spaceCache, powerCut, threadPool, flushOnCommit);
    }

    @Override
    public String toString() { return describe(orphanItemFault > 0); }

    /** The plan's text; {@code orphanFault}: whether drop_snapshot's ENOMEM is armed (not with several filesystems or --faults without it). */
    String describe(boolean orphanFault) {
        StringBuilder sb = new StringBuilder();
        for (LaneKind k : lanes) {
            sb.append(sb.length() == 0 ? "" : "+").append(k.label);
        }
        return String.format(Locale.ROOT, "lanes %s, %d lifecycle steps, commit=%d%s%s%s%s%s%s%s%s%s%s%s", sb, lifecycleSteps, commit,
            compress ? ", compress" : "", autodefrag ? ", autodefrag" : "", rescanUuid ? ", rescan_uuid_tree" : "",
            discard ? ", discard=async" : "", spaceCache.isEmpty() ? "" : ", " + spaceCache,
            threadPool > 0 ? ", thread_pool=" + threadPool : "", flushOnCommit ? ", flushoncommit" : "", freeze ? ", fsfreeze" : "", startRo ? ", mount -o ro" : "",
            powerCut ? ", power cut at the end" : "", orphanFault ? ", DEL_ORPHAN_ITEM_ENOMEM p=" + orphanItemFault : "");
    }
}
