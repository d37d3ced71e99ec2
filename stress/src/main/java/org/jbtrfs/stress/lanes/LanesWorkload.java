package org.jbtrfs.stress.lanes;

import org.jbtrfs.stress.workload.Payload;
import org.jbtrfs.fs.internal.Internals;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.stress.Seeds;
import org.jbtrfs.stress.classify.Observation;
import org.jbtrfs.stress.watch.Watchdog;
import org.jbtrfs.stress.workload.CycleEnv;
import org.jbtrfs.stress.workload.DeadRootCheck;
import org.jbtrfs.stress.workload.FaultPlan;

/**
 * The explorer's cycle: mount, then several lanes on real threads racing each other the way users'
 * processes do — lifecycle (remounts, umount + mount), files, subvolumes, quotas, sync, a second device
 * in the same module — chosen and parameterised from the cycle seed ({@link LanePlan}); the schedule
 * perturbation delays every lane's hook arrivals as it does the kthreads'. When the lifecycle lane is
 * done the others finish; the driver then looks for dead roots never dropped, sometimes remounts RO, and
 * unmounts. Nothing here waits for, retries or skips a behaviour of the kernel: a refused operation is
 * an outcome, a failure is a finding.
 */
public final class LanesWorkload {
    /** The start of the note for lanes no panic ended (the driver copies it into the run's notes). */
    public static final String ABANDONED = "lanes that did not end after the module panicked (abandoned): ";

    private final CycleEnv env;
    private final Observation obs;
    private final LanePool pool;
    private final Watchdog watchdog;
    private final long cycle;
    private final long graceNanos;
    private LanePlan plan;
    private FaultPlan faults = FaultPlan.NONE;
    private LaneContext cx;

    public LanesWorkload(CycleEnv env, Observation obs, LanePool pool, Watchdog watchdog, long cycle, long graceNanos) {
        this.env = env;
        this.obs = obs;
        this.pool = pool;
        this.watchdog = watchdog;
        this.cycle = cycle;
        this.graceNanos = graceNanos;
    }

    public LanePlan plan() { return plan; }

    /** The cycle's plan as the report's schedule line gives it: the lanes', then the armed faults (null before). */
    public String planText() {
        if (plan == null) {
            return null;
        }
        boolean orphanFault = plan.orphanItemFault() > 0 && env.singleFilesystem && env.faults.contains(org.jbtrfs.core.Fault.DEL_ORPHAN_ITEM_ENOMEM);
        return plan.describe(orphanFault) + faults;
    }

    /**
     * A fresh filesystem (the epoch's first cycle) gets the state the windows need from the start: "ext"
     * with enough one-byte extents for a qgroup rescan to span extent-tree leaves, and sometimes quotas on.
     */
    private void prepare(Btrfs fs, SplittableRandom r) {
        int n = 350;
        env.op("populate extents", () -> {
            fs.createFile("ext");
            byte[] one = new byte[1];
            for (int i = 0; i < n; i++) {
                fs.writeFile("ext", one);
            }
        });
        env.model.extents = n;
        if (env.device.size() < org.jbtrfs.stress.engine.ModuleHost.DEVICE_SIZE) {
            fill(fs, r);
        }
        if (r.nextDouble() < 0.5) {
            env.op("quota enable", fs::quotaEnable);
            env.model.quota = true;
        }
    }

    /**
     * The small device (ModuleHost.SMALL_DEVICE_SIZE) starts the epoch nearly full: a "fill" file of 12 to 15 MiB,
     * written back, takes the data chunks — and with them the unallocated space the metadata reservations would
     * overcommit into — so the lanes' transaction starts and buffered writes meet tickets and the async reclaim work.
     */
    private void fill(Btrfs fs, SplittableRandom r) {
        int mib = 12 + r.nextInt(4);
        env.op("fill " + mib + " MiB", () -> {
            fs.createFile("fill");
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < mib; i++) {
                fs.writeFile("fill", Payload.stamp(chunk));
            }
            fs.sync();
        });
    }

    /** The main device's mount at the end (unmounted unless the cycle broke off). */
    public Btrfs fs() { return cx == null ? null : cx.fs; }

    public void run() {
        try {
            cycle();
        } finally {
            applyFaults(FaultPlan.NONE); // the driver's cleanup and the next mkfs run without
        }
    }

    /**
     * Arms {@code p}: module-wide with one filesystem (as every earlier run did), for this filesystem's devices only
     * with several — its main disk, its spare (a filesystem a replace moved there is mounted through it: until stop 66
     * such a filesystem's cycles met no injected fault) and the dev2 lane's.
     */
    private void applyFaults(FaultPlan p) {
        p.apply(env.module.faults(), faultDevices(env.singleFilesystem, env.device, env.spare, env.device2));
    }

    /** The devices a cycle's faults are armed for: null (module-wide) with one filesystem, else the cycle's disks. */
    static List<String> faultDevices(boolean singleFilesystem, BlockDevice device, BlockDevice spare, BlockDevice device2) {
        List<String> devices = new ArrayList<>();
        if (singleFilesystem) {
            devices.add(null); // module-wide
            return devices;
        }
        devices.add(device.name());
        if (spare != null) {
            devices.add(spare.name());
        }
        if (device2 != null) {
            devices.add(device2.name());
        }
        return devices;
    }

    private void cycle() {
        plan = LanePlan.of(env.cycleSeed, env.epochCycle, env.lanes);
        SplittableRandom r = Seeds.stream(env.cycleSeed, "lanes-driver");
        faults = FaultPlan.of(env.cycleSeed, env.faults);
        if (env.singleFilesystem) { // drop_snapshot's ENOMEM, module-wide: per cycle only with one filesystem
            if (plan.orphanItemFault() > 0 && env.faults.contains(org.jbtrfs.core.Fault.DEL_ORPHAN_ITEM_ENOMEM)) {
                env.module.faults().armProbability(org.jbtrfs.core.Fault.DEL_ORPHAN_ITEM_ENOMEM, plan.orphanItemFault(), plan.faultSeed());
            } else {
                env.module.faults().disarm(org.jbtrfs.core.Fault.DEL_ORPHAN_ITEM_ENOMEM);
            }
        }
        String opts = plan.mountOptions(plan.startRo());
        BlockDevice on = LaneContext.fsDevice(env.device, env.spare, env.model.fsid);
        Btrfs fs = env.op(plan.startRo() ? "mount -o ro" : "mount", () -> env.module.mount(on, opts));
        env.model.refresh(fs);
        if (env.epochCycle == 0 && !plan.startRo()) {
            prepare(fs, r);
        }
        // the error paths from here on: the cycle's mount and the epoch's setup run without injected faults
        applyFaults(faults);
        env.model.injectedSinceMkfs.addAll(faults.errnos());
        obs.injected(env.model.injectedSinceMkfs); // what earlier cycles' aborts left is an outcome too
        obs.powerCutSinceMkfs = env.model.powerCutSinceMkfs; // and what a power cut left
        obs.unreadableInReplaceCopy = java.util.Set.copyOf(env.model.unreadableInReplaceCopy); // and what a copy lost
        cx = new LaneContext(env.module, env.device, env.device2, env.fsIndex, env.cycleSeed, obs, watchdog,
            plan, env.swarm);
        cx.fs = fs;
        cx.spare = env.spare;
        cx.fsid = env.model.fsid;
        cx.onPowerCut = () -> {
            env.model.powerCutSinceMkfs = true;
            obs.powerCutSinceMkfs = true; // a mount later in this cycle meets what the cut left too
        };
        cx.severalFilesystems = !env.singleFilesystem;
        cx.injected = faults.errnos();
        cx.timeline = env.lane.timeline();
        cx.scope = env.lane;
        List<LaneWorker> lanes = new ArrayList<>();
        lanes.add(new LifecycleLane(cx));
        if (plan.lanes().contains(LaneKind.FILE)) {
            lanes.add(new FileLane(cx, env.model.files, env.model.tarDirs, cycle));
        }
        if (plan.lanes().contains(LaneKind.FILE2)) {
            lanes.add(new SecondFileLane(cx, env.model.files, cycle));
        }
        if (plan.lanes().contains(LaneKind.SUBVOLUME)) {
            lanes.add(new SubvolumeLane(cx, env.model.subvolumes, cycle));
        }
        if (plan.lanes().contains(LaneKind.QUOTA)) {
            lanes.add(new QuotaLane(cx, env.model.extents));
        }
        if (plan.lanes().contains(LaneKind.QUOTA2)) {
            lanes.add(new SecondQuotaLane(cx));
        }
        if (plan.lanes().contains(LaneKind.SYNC)) {
            lanes.add(new SyncLane(cx));
        }
        if (plan.lanes().contains(LaneKind.SCRUB)) {
            lanes.add(new ScrubLane(cx));
        }
        if (plan.lanes().contains(LaneKind.BALANCE)) {
            lanes.add(new BalanceLane(cx));
        }
        if (plan.lanes().contains(LaneKind.BALANCE2)) {
            lanes.add(new BalanceCtlLane(cx));
        }
        if (plan.lanes().contains(LaneKind.REPLACE) && env.spare != null) {
            lanes.add(new ReplaceLane(cx));
        }
        if (plan.lanes().contains(LaneKind.DEVICE2) && env.device2 != null) {
            lanes.add(new SecondDeviceLane(cx));
        }
        List<String> stuck = pool.runAll(lanes, Internals.kernel(env.module)::panicked, graceNanos);
        if (!stuck.isEmpty()) {
            obs.note(ABANDONED + stuck);
        }
        if (cx.broken.get()) {
            return; // the driver cleans up and reloads
        }
        Btrfs end = cx.fs;
        if (end == null || !end.isMounted()) {
            return;
        }
        if (!end.isReadOnly() && r.nextDouble() < 0.5) {
            DeadRootCheck.check(env, end, obs);
        }
        if ((plan.powerCut() || cx.dropping) && env.device instanceof FlakeyBlockDevice flakey) {
            powerCut(end, flakey);
            return;
        }
        if (!end.isReadOnly() && r.nextDouble() < 0.6) {
            try {
                env.op("remount ro", () -> end.remount("ro"));
            } catch (org.jbtrfs.core.BtrfsException e) {
                if (!LaneWorker.expected(e.errno(), faults.errnos())) {
                    throw e;
                }
            }
        }
        env.lastUmount(end, obs);
    }

    /**
     * The cycle's end as fstests' {@code _flakey_drop_and_remount} has it, the mount left to the next cycle: from the
     * cut on nothing reaches the disk (dm-flakey's drop_writes: writes and flushes complete, discarded), then the
     * umount — its sync and close_ctree's commit are lost, what it checks is checked as after any umount — and the
     * writes allowed again. The next mount of the epoch reads what the last commit before the cut left.
     */
    private void powerCut(Btrfs end, FlakeyBlockDevice flakey) {
        if (!cx.dropping) { // a cut the lifecycle lane started and no umount ended goes on to the end
            env.op("power cut", flakey::dropWrites);
            cx.powerCutStarted();
        }
        try {
            env.lastUmount(end, obs);
        } finally {
            cx.endPowerCutIfClosed(); // a failed umount leaves it: the driver's cleanup ends the cut (and the epoch)
        }
    }
}
