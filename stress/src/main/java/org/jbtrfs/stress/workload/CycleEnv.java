package org.jbtrfs.stress.workload;

import java.util.function.Supplier;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.BtrfsModule;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.stress.classify.Observation;
import org.jbtrfs.stress.schedule.Roles;
import org.jbtrfs.stress.schedule.ScheduleScope;
import org.jbtrfs.stress.watch.Busy;

/** What a workload gets for one cycle: where to run, its seed, and the driver's bookkeeping. */
public final class CycleEnv {
    public final BtrfsModule module;
    public final BlockDevice device;
    /** The second device of this filesystem's driver (the second-device lane's), or null. */
    public final BlockDevice device2;
    public final int fsIndex;
    public final long cycleSeed;
    /** Position in the epoch (0: the filesystem was just made). */
    public final long epochCycle;
    public final FsModel model;
    final Busy busy;
    public final ScheduleScope lane;
    public final boolean singleFilesystem;
    final boolean fillBlockGroups;
    /** The lanes a lanes cycle may run ({@code --lanes}). */
    public final java.util.List<String> lanes;
    /** The fault-injection sites a cycle may arm ({@code --faults}). */
    public final java.util.Set<org.jbtrfs.core.Fault> faults;
    /** How often a lane's operation mix leaves operations out ({@code --swarm}). */
    public final double swarm;
    /** The filesystem's spare disk (the replace lane's target; the filesystem's after a replace), or null. */
    public volatile BlockDevice spare;

    public CycleEnv(BtrfsModule module, BlockDevice device, BlockDevice device2, int fsIndex, long cycleSeed, long epochCycle, FsModel model, Busy busy, ScheduleScope lane,
             boolean singleFilesystem, boolean fillBlockGroups, java.util.List<String> lanes,
             java.util.Set<org.jbtrfs.core.Fault> faults, double swarm) {
        this.module = module;
        this.device = device;
        this.device2 = device2;
        this.fsIndex = fsIndex;
        this.cycleSeed = cycleSeed;
        this.epochCycle = epochCycle;
        this.model = model;
        this.busy = busy;
        this.lane = lane;
        this.singleFilesystem = singleFilesystem;
        this.fillBlockGroups = fillBlockGroups;
        this.lanes = lanes;
        this.faults = faults;
        this.swarm = swarm;
    }

    /**
     * The device to find the filesystem on when it is not mounted — {@code mount UUID=}: of the main disk and the spare,
     * the one blkid finds the epoch's filesystem on as devid 1 (a replace moved it, stop 65) — the newer generation if
     * both hold it (a crash between a replace's last commit and its scratch of the old disk: the kernel's scan keeps the
     * latest too) — else the main device.
     */
    public static BlockDevice fsDevice(BlockDevice main, BlockDevice spare, String fsid) {
        if (spare == null || fsid == null) {
            return main;
        }
        org.jbtrfs.fs.tools.Blkid.Probe s = org.jbtrfs.fs.tools.Blkid.probe(spare);
        if (s == null || s.devid() != 1 || !s.fsid().equals(fsid)) {
            return main;
        }
        org.jbtrfs.fs.tools.Blkid.Probe m = org.jbtrfs.fs.tools.Blkid.probe(main);
        boolean mainToo = m != null && m.devid() == 1 && m.fsid().equals(fsid);
        return mainToo && m.generation() >= s.generation() ? main : spare;
    }

    /** Runs one lifecycle operation under the watchdog's eye. */
    public <T> T op(String name, Supplier<T> s) {
        busy.enter(name);
        try {
            return s.get();
        } catch (RuntimeException | Error e) {
            busy.outcome(outcome(e));
            throw e;
        } finally {
            busy.exit();
        }
    }

    public void op(String name, Runnable r) {
        op(name, () -> {
            r.run();
            return null;
        });
    }

    /** How an operation that threw ended, for the timeline: the errno the kernel answered, or the exception. */
    public static String outcome(Throwable e) {
        return e instanceof BtrfsException b ? b.errno().name() : e.getClass().getSimpleName();
    }

    /**
     * The cycle's last umount, as the verdict reads it: the state right before it, what it threw, and
     * what it left (unless a lane's failing umount of this cycle was recorded first).
     */
    public void lastUmount(Btrfs fs, Observation obs) {
        obs.beforeUmount = op("inspect", fs::inspect);
        boolean unmounted = false;
        try {
            op("umount", fs::umount);
            unmounted = true;
        } catch (RuntimeException | Error e) {
            obs.umountFailed(e);
        }
        if (unmounted) {
            fsck(obs);
        }
        try {
            Inspection after = fs.inspect();
            if (obs.afterUmount == null) {
                obs.afterUmount = after;
            }
            if (after.needlessUuidRescan() && obs.needlessUuidRescan == null) {
                obs.needlessUuidRescan = Roles.DRIVER;
            }
            if (after.asyncDiscardOff() && obs.asyncDiscardOff == null) {
                obs.asyncDiscardOff = Roles.DRIVER;
            }
        } catch (RuntimeException e) {
            obs.note("inspect after umount failed: " + e);
        }
    }

    /**
     * btrfs check --check-data-csum of the unmounted image, as fstests' {@code _check_scratch_fs} after every test (which
     * does not read the data): its errors are the
     * cycle's {@link org.jbtrfs.stress.classify.Symptom#FSCK}. Read-only, offline: the kernel is not involved.
     */
    private void fsck(Observation obs) {
        BlockDevice on = fsDevice(device, spare, model.fsid); // the filesystem's device: after a replace, the spare
        // with --check-data-csum (stop 76, the port keeps data checksums): a data sector a replace or a failed write left
        // stale is found here, not only when a lane happens to read it (the tool's own crc32c, the fast one: the image's
        // sums are the same whichever driver the kernel model used)
        // the data of extents older than the last check's generation was read then, on the same device: only what came
        // since is read again (data extents are copy-on-write: nothing rewrites an old one in place), every sector
        // after the filesystem moved to another disk
        org.jbtrfs.fs.tools.Blkid.Probe sb = org.jbtrfs.fs.tools.Blkid.probe(on);
        long from = on.name().equals(model.dataCheckedDevice) ? model.dataCheckedGeneration + 1 : 0;
        Check.Report rep = op("btrfs check", () -> Check.checkData(on, org.jbtrfs.core.Crc32cImpl.ACCELERATED, from));
        if (rep.of(Check.Kind.DATA_CSUM_MISMATCH).isEmpty() && sb != null) {
            model.dataCheckedDevice = on.name();
            model.dataCheckedGeneration = sb.generation();
        } else {
            model.dataCheckedDevice = null; // read it all next time
        }
        for (Check.Problem p : rep.problems()) {
            if (p.severity() == Check.Severity.ERROR) {
                obs.fsck.add(p.kind() + ": " + p.message());
            }
        }
        long checked = System.nanoTime();
        for (Check.Problem p : rep.of(Check.Kind.DATA_CSUM_MISMATCH)) {
            // whether the other disk of the filesystem holds the summed data there (a replace's source, or its target),
            // and which thread wrote the sector last on each (stop 77: e73c597e's second life, a sector no write of the
            // cycle seemed to leave stale)
            BlockDevice other = on == device ? spare : device;
            long at = Long.parseLong(p.where().substring("bytenr ".length()));
            obs.note("data sector " + at + " on " + on.name() + ": " + sector(on, at) + ", last written " + lastWrite(on, at,
                checked));
            if (other != null) {
                obs.note("data sector " + at + " on " + other.name() + ": " + sector(other, at) + ", last written "
                    + lastWrite(other, at, checked) + "; checked on " + on.name());
            }
        }
        if (!rep.of(Check.Kind.SUPERBLOCK).isEmpty()) {
            // which device the check chose, and why: what blkid finds on each disk the filesystem may live on (stop 75:
            // class 09dda4a6, a resumed replace's source scratched and the check sent to it, left for a next occurrence)
            obs.note("blkid after umount: " + blkid(device) + (spare == null ? "" : "; " + blkid(spare)) + "; epoch fsid "
                + model.fsid);
        }
    }

    /** The sector at {@code at} of {@code dev}: its crc32c and what it holds (the workloads' payloads name themselves). */
    private static String sector(BlockDevice dev, long at) {
        byte[] b = new byte[4096];
        dev.read(at, b, 0, b.length);
        return "crc32c " + (org.jbtrfs.core.kernel.Crc32c.of(org.jbtrfs.core.Crc32cImpl.ACCELERATED).compute(b, 0, b.length)
            & 0xffffffffL) + ", " + Payload.describe(b);
    }

    /** Who wrote the sector at {@code at} of {@code dev} last, in ms before {@code now}, or "never (as far as known)". */
    private static String lastWrite(BlockDevice dev, long at, long now) {
        org.jbtrfs.core.LastWrite w = dev.lastWrite(at);
        return w == null ? "never (as far as the device knows)" : "by " + w.thread() + String.format(java.util.Locale.ROOT,
            " %.3f ms before the check", (now - w.nanoTime()) / 1e6) + (w.frames() == null ? "" : " (" + w.frames() + ")");
    }

    private static String blkid(BlockDevice dev) {
        org.jbtrfs.fs.tools.Blkid.Probe p = org.jbtrfs.fs.tools.Blkid.probe(dev);
        return dev.name() + (p == null ? " no btrfs" : " devid " + p.devid() + " generation " + p.generation() + " fsid "
            + p.fsid());
    }
}
