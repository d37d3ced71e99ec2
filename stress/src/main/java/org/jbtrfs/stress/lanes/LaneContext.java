package org.jbtrfs.stress.lanes;

import java.util.concurrent.atomic.AtomicBoolean;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.stress.classify.Observation;
import org.jbtrfs.stress.schedule.Timeline;
import org.jbtrfs.stress.watch.Watchdog;
import org.jbtrfs.stress.workload.FaultPlan;

/**
 * What the lanes of one cycle share: the module, the current mount of the main device (the lifecycle
 * lane replaces it on umount + mount; the other lanes read it before each operation, and one that finds
 * it unmounted gets EINVAL like a process whose filesystem went away), the verdict's observation and the
 * stop flags.
 */
final class LaneContext {
    final BtrfsModule module;
    final BlockDevice device;
    final BlockDevice device2;
    final int fsIndex;
    final long cycleSeed;
    final Observation obs;
    final Watchdog watchdog;
    final LanePlan plan;
    /** The probability that a lane's operation mix this cycle is a swarm one ({@link OpMix}; {@code --swarm}). */
    final double swarm;
    /** The main device's current mount (null between an umount and the next mount). */
    volatile Btrfs fs;
    /** The lifecycle lane finished its steps: the other lanes finish their current operation and stop. */
    final AtomicBoolean done = new AtomicBoolean();
    /** Something broke the module (an oops, a BUG, a panic): every lane stops at once. */
    final AtomicBoolean broken = new AtomicBoolean();

    LaneContext(BtrfsModule module, BlockDevice device, BlockDevice device2, int fsIndex, long cycleSeed, Observation obs,
                Watchdog watchdog, LanePlan plan, double swarm) {
        this.module = module;
        this.device = device;
        this.device2 = device2;
        this.fsIndex = fsIndex;
        this.cycleSeed = cycleSeed;
        this.obs = obs;
        this.watchdog = watchdog;
        this.plan = plan;
        this.swarm = swarm;
    }

    /** Several filesystems share the module: a lane's hung-task report names its filesystem's device (LogScope). */
    volatile boolean severalFilesystems;
    /** The cycle's timeline, where the lanes' operations go (null: not recorded). */
    volatile Timeline timeline;
    /** The filesystem's perturbation scope: its kernel threads' delays excuse a lane's wait (null: none). */
    volatile org.jbtrfs.stress.schedule.ScheduleScope scope;
    /** The errors the cycle's injected faults return ({@link FaultPlan#errnos()}): normal outcomes for a lane. */
    volatile java.util.Set<org.jbtrfs.core.Errno> injected = java.util.Set.of();
    /**
     * dm-flakey drops the main device's writes (stop 35): a power cut whose umount has not closed the filesystem yet.
     * Only the lifecycle lane's umount (or the cycle's end) allows them again, once the superblock is gone.
     */
    volatile boolean dropping;
    /** The kernel log's mark when the last power cut started. */
    volatile long cutMark;
    /** Told when a power cut starts: the workload records it for the classifier and the epoch's next cycles. */
    volatile Runnable onPowerCut = () -> { };
    /**
     * A power cut started (the main device's writes are dropped from now on — and the spare disk's, on the same power:
     * ModuleHost), noted, and told to the workload.
     */
    void powerCutStarted() {
        cutMark = module.log().mark();
        obs.powerCutStarted(cutMark);
        dropping = true;
        onPowerCut.run();
    }

    /** The filesystem's spare disk (the replace lane's target), or null. */
    volatile BlockDevice spare;
    /** The epoch's fsid (its mkfs), or null. */
    volatile String fsid;

    /**
     * The device to mount the filesystem through when it is not mounted — {@code mount UUID=}: the spare disk when blkid
     * finds the epoch's filesystem there as devid 1 (a replace moved it), else the main device. A filesystem still
     * mounted is mounted through the device it was (the superblock is found by it, as sget finds it by fs_devices).
     */
    BlockDevice fsDevice() { return fsDevice(device, spare, fsid); }

    /** {@link #fsDevice()} for a filesystem on {@code main} with {@code spare} beside it, made as {@code fsid}. */
    static BlockDevice fsDevice(BlockDevice main, BlockDevice spare, String fsid) {
        return org.jbtrfs.stress.workload.CycleEnv.fsDevice(main, spare, fsid);
    }

    /**
     * The end of a power cut: writes reach the disk again once no mount of the main device is left (the superblock
     * closed: nothing written in the cut stays in memory to be written on top of what the disk lost).
     */
    void endPowerCutIfClosed() {
        BlockDevice s = spare;
        if (dropping && device instanceof FlakeyBlockDevice flakey
            && module.mounts().stream().noneMatch(m -> m.device() == device || m.device() == s)) {
            flakey.allowWrites(); // the spare disk's too: one power
            dropping = false;
            obs.powerCutEnded(module.log().mark());
        }
    }

    /** Tests: told "lane:op" after each operation that completed (null: nobody listens). */
    volatile java.util.function.Consumer<String> opListener;

    boolean stopped() { return done.get() || broken.get(); }

    /** What a lane waiting for the main device's next mount waits on: a mount, the cycle's end, a break. */
    private final Object mountEvents = new Object();

    /** The lifecycle lane mounted the main device: {@code m} is the current mount now. */
    void mounted(Btrfs m) {
        synchronized (mountEvents) {
            fs = m;
            mountEvents.notifyAll();
        }
    }

    /** The lifecycle lane finished its steps: the other lanes finish their current operation and stop. */
    void finish() {
        done.set(true);
        wakeMountWaiters();
    }

    /** Something broke the module: every lane stops at once. */
    void breakCycle() {
        broken.set(true);
        wakeMountWaiters();
    }

    private void wakeMountWaiters() {
        synchronized (mountEvents) {
            mountEvents.notifyAll();
        }
    }

    /**
     * The main device's current mount once it is mounted; null when the cycle ends first (the lane stops).
     * Between the lifecycle lane's umount and its next mount an operation could only end in EINVAL at once;
     * a lane that took its steps there used them up before the next mount (measured on the lanes workload: in
     * a 10 s run of 616 cycles, 456 of the file lane's fill steps alone ended "sdc is not mounted"), so its
     * operations rarely overlapped the lifecycle lane's remounts. An operation that races an umount still gets
     * EINVAL.
     */
    Btrfs awaitMounted() {
        synchronized (mountEvents) {
            while (!done.get()) {
                if (broken.get()) {
                    throw new LaneWorker.StopLane();
                }
                Btrfs f = fs;
                if (f != null && f.isMounted()) {
                    return f;
                }
                try {
                    mountEvents.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return null;
                }
            }
        }
        return null;
    }
}
