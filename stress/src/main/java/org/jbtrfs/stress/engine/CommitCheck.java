package org.jbtrfs.stress.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.jbtrfs.core.BlockDevice;
import org.jbtrfs.core.FlakeyBlockDevice;
import org.jbtrfs.core.KernelLog;
import org.jbtrfs.fs.tools.Check;
import org.jbtrfs.transaction.CommitProbe;
import org.jbtrfs.transaction.FsInfo;
import org.jbtrfs.transaction.Root;

/**
 * {@code -Djbtrfs.stress.checkEveryCommit=true}: btrfs check of the committed image inside every commit, right
 * after its superblock is written (a port-debugging probe, {@link CommitProbe}). The runner's own check runs only
 * after a cycle's last umount, when a later commit may have rewritten a stale pointer; this one names the commit that
 * wrote the damage. Errors are logged as a kernel WARNING at {@code port-debug/check-after-commit} with the
 * committing thread's stack, so the cycle fails with a {@code warn} class and its timeline. Slow: for hunting one
 * class, not for measuring.
 */
final class CommitCheck {
    static final boolean ON = Boolean.getBoolean("jbtrfs.stress.checkEveryCommit");

    private CommitCheck() { }

    /** Installs the probe for this JVM's filesystems when the property asks for it. */
    static void installIfAsked() {
        if (ON) {
            CommitProbe.install(CommitCheck::probe);
        }
    }

    private static void probe(FsInfo fs, long transid) {
        if (writesDropped(fs.device.source()) || writesDropped(fs.device.target())) {
            // a power cut (dm-flakey drop_writes, stop 35): nothing this commit wrote reached a disk, which keeps the
            // image of the cut — and a replace's swap inside the cut points the reads at the spare disk, which never
            // got the filesystem's writes either. The runner's own check reads the disks after the cycle's umount.
            return;
        }
        String errors = errors(Check.check(fs.device.probeView())); // not the kernel's reads: no injected read error
        if (errors.isEmpty()) {
            return;
        }
        // what was still in flight when the superblock went out, and whether the damage outlives it: a second check
        // once every tree block write has ended (port debugging only — the commit itself never waits here)
        String inFlight = fs.btreeInode.writebackState();
        String dirtyNow = fs.btreeInode.dirtyState();
        fs.btreeInode.waitWriteback();
        String again = errors(Check.check(fs.device.probeView()));
        String report = "(device " + fs.sbId() + ") transaction " + transid
            + ": " + errors
            + "\n  in flight at the check: " + inFlight
            + "\n  " + dirtyNow
            + "\n  roots in memory: " + roots(fs)
            + "\n  after every tree block write ended: " + (again.isEmpty() ? "clean" : again);
        fs.log().warnOnAt(true, "port-debug/check-after-commit", 1, report);
        // whole, with the committer's stack: a cycle report shows a log entry's first lines only
        System.err.println("jbtrfs commit probe: " + report + "\n  committer:\n"
            + KernelLog.callTrace(new Throwable(), 0));
    }

    private static boolean writesDropped(BlockDevice d) {
        return d instanceof FlakeyBlockDevice f && f.mode() != FlakeyBlockDevice.Mode.PASS;
    }

    /** Each root the commit knows (and its root item's view): where a stale root item would show. */
    private static String roots(FsInfo fs) {
        StringBuilder sb = new StringBuilder();
        List<Root> all = new ArrayList<>(Arrays.asList(fs.treeRoot(), fs.extentRoot(), fs.quotaRoot(), fs.freeSpaceRoot(),
            fs.uuidRoot()));
        all.addAll(fs.fsRootsRadix.values());
        for (Root r : all) {
            if (r == null) {
                continue;
            }
            var item = r.rootItem();
            sb.append(r.objectid()).append(":node ").append(r.node().bytenr()).append("/gen ").append(r.node().generation())
                .append(item == null ? "" : " item " + item.bytenr() + " refs " + item.refs() + " progress " + item.dropProgress())
                .append(' ').append(r.state).append("; ");
        }
        return sb.toString();
    }

    private static String errors(Check.Report rep) {
        return rep.problems().stream().filter(p -> p.severity() == Check.Severity.ERROR)
            .map(p -> p.kind() + ": " + p.message()).collect(Collectors.joining("; "));
    }
}
