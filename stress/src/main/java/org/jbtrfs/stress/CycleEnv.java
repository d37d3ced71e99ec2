package org.jbtrfs.stress;

import java.util.function.Supplier;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;

/** What a workload gets for one cycle: where to run, its seed, and the driver's bookkeeping. */
final class CycleEnv {
    final BtrfsModule module;
    final BlockDevice device;
    /** The second device of this filesystem's driver (the second-device lane's), or null. */
    final BlockDevice device2;
    final int fsIndex;
    final long cycleSeed;
    /** Position in the epoch (0: the filesystem was just made). */
    final long epochCycle;
    final FsModel model;
    final Busy busy;
    final ScheduleScope lane;
    final Perturbation perturbation;
    final boolean singleFilesystem;
    final boolean fillBlockGroups;

    CycleEnv(BtrfsModule module, BlockDevice device, BlockDevice device2, int fsIndex, long cycleSeed, long epochCycle, FsModel model, Busy busy, ScheduleScope lane,
             Perturbation perturbation, boolean singleFilesystem, boolean fillBlockGroups) {
        this.module = module;
        this.device = device;
        this.device2 = device2;
        this.fsIndex = fsIndex;
        this.cycleSeed = cycleSeed;
        this.epochCycle = epochCycle;
        this.model = model;
        this.busy = busy;
        this.lane = lane;
        this.perturbation = perturbation;
        this.singleFilesystem = singleFilesystem;
        this.fillBlockGroups = fillBlockGroups;
    }

    /** Runs one lifecycle operation under the watchdog's eye. */
    <T> T op(String name, Supplier<T> s) {
        busy.enter(name);
        try {
            return s.get();
        } finally {
            busy.exit();
        }
    }

    void op(String name, Runnable r) {
        busy.enter(name);
        try {
            r.run();
        } finally {
            busy.exit();
        }
    }

    /** With several filesystems, the kthreads of this mount belong to this driver's lane. */
    void registerKthreads(Btrfs fs) {
        if (perturbation != null && !singleFilesystem) {
            var ck = fs.fsInfo().cleanerKthread;
            var tk = fs.fsInfo().transactionKthread;
            perturbation.register(ck == null ? null : ck.thread(), lane);
            perturbation.register(tk == null ? null : tk.thread(), lane);
        }
    }
}
