package org.jbtrfs.stress.lanes;

import org.jbtrfs.stress.workload.Payload;
import org.jbtrfs.core.BtrfsException;
import org.jbtrfs.core.KernelPanic;
import org.jbtrfs.fs.Btrfs;
import org.jbtrfs.fs.FileHandle;
import org.jbtrfs.fs.Inspection;
import org.jbtrfs.stress.workload.RoLeakCheck;

/**
 * The second-device lane: in the same module, its own loop of mount (sometimes -o ro), a little work
 * (a file, a delayed iput), sometimes a remount, and umount — btrfs/326's shape: two filesystems of one
 * module sharing its kworker pool, kthreadd and slab caches. It leaves its device unmounted.
 */
final class SecondDeviceLane extends LaneWorker {
    private Btrfs fs;
    private int next;

    SecondDeviceLane(LaneContext cx) { super(LaneKind.DEVICE2, cx, 0.5, 0.8, 1.0); }

    @Override
    void body() {
        for (int i = 0; i < Math.max(1, cx.plan.maxLaneSteps() / 4) && going(); i++) {
            pause();
            boolean ro = r.nextDouble() < 0.2;
            String opts = cx.plan.mountOptions(ro);
            fs = op(ro ? "mount -o ro" : "mount", () -> cx.module.mount(cx.device2, opts));
            if (fs == null) {
                continue;
            }
            Btrfs m = fs;
            int ops = 1 + r.nextInt(4);
            for (int k = 0; k < ops; k++) {
                double u = mix.remap(r.nextDouble());
                String f = "d" + cx.cycleSeed % 1000 + "x" + next++;
                if (u < 0.5) {
                    run("create", () -> m.createFile(f));
                    run("write", () -> m.writeFile(f, Payload.bytes(1 + r.nextInt(4096))));
                } else if (u < 0.8) {
                    if (run("create", () -> m.createFile(f))) {
                        FileHandle h = op("open", () -> m.open(f));
                        run("unlink", () -> m.unlink(f));
                        if (h != null) {
                            closeFromWorker(h);
                        }
                    }
                } else {
                    String to = m.isReadOnly() ? "rw" : "ro";
                    if (m.isReadOnly()) {
                        RoLeakCheck.check(() -> op("inspect", m::inspect), cx.obs, kind.label);
                    }
                    run("remount " + to, () -> m.remount(to));
                }
            }
            umount();
        }
    }

    private void umount() {
        Btrfs m = fs;
        busy.enter("umount");
        Throwable err = null;
        try {
            m.umount();
        } catch (BtrfsException e) {
            busy.outcome(e.errno().name());
            if (normal(e.errno())) { // EBUSY; never an injected errno: an umount completes whatever failed before
                return;
            }
            err = e;
        } catch (KernelPanic e) {
            cx.breakCycle();
            throw new StopLane();
        } catch (RuntimeException | Error e) {
            err = e;
        } finally {
            busy.exit();
        }
        fs = null;
        completed("umount");
        Inspection after = m.inspect();
        cx.obs.umounted(kind.label, after, err);
        if (err != null || !after.openTransactions().isEmpty()) {
            cx.breakCycle();
            throw new StopLane();
        }
    }

    @Override
    void cleanup() {
        if (fs != null && fs.isMounted() && !cx.broken.get()) {
            umount();
        }
    }
}
